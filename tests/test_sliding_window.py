"""Sliding window: patch extraction against F.unfold, and the convolutionalized network against the patch classifier."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from segbook.models import PatchClassifier
from segbook.ops.convolutionalization import ConvolutionalizedClassifier, convolutionalize, linear_to_conv
from segbook.ops.sliding_window import extract_patches, pad_for_patches, sample_patches, sliding_window_predict

# --- extract_patches ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("patch_size", [1, 3, 5, 7])
@pytest.mark.parametrize("shape", [(1, 1, 4, 4), (2, 3, 5, 7), (3, 2, 8, 6)])
def test_extract_patches_equals_unfold(patch_size, shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    n, c, h, w = shape
    r = patch_size // 2
    ref = F.unfold(x, patch_size, padding=r)  # (N, C*P*P, H*W), zero padding
    ref = ref.permute(0, 2, 1).reshape(n * h * w, c, patch_size, patch_size)
    assert torch.equal(extract_patches(x, patch_size), ref)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_extract_patches_padding_modes_equal_unfold_of_padded_image(mode):
    x = torch.randn(2, 3, 6, 5, generator=torch.Generator().manual_seed(1))
    padded = F.pad(x, (2, 2, 2, 2), mode=mode)
    ref = F.unfold(padded, 5).permute(0, 2, 1).reshape(2 * 6 * 5, 3, 5, 5)
    assert torch.equal(extract_patches(x, 5, padding_mode=mode), ref)


def test_patch_is_centred_on_its_pixel():
    x = torch.randn(2, 3, 6, 7, generator=torch.Generator().manual_seed(2))
    patches = extract_patches(x, 5).reshape(2, 6, 7, 3, 5, 5)
    assert torch.equal(patches[:, :, :, :, 2, 2].permute(0, 3, 1, 2), x)  # centre of each patch = its pixel
    assert torch.equal(patches[1, 3, 4], x[1, :, 1:6, 2:7])  # an interior patch is a plain window


def test_extract_patches_keeps_gradients():
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: extract_patches(t, 3), (x,))


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (dict(patch_size=4), ValueError, "odd"),
        (dict(patch_size=0), ValueError, ">= 1"),
        (dict(patch_size=3.0), TypeError, "int"),
        (dict(padding_mode="circular"), ValueError, "padding_mode"),
    ],
)
def test_extract_patches_rejects_bad_arguments(bad, error, words):
    kwargs = dict(patch_size=3, padding_mode="zeros") | bad
    with pytest.raises(error, match=words):
        extract_patches(torch.rand(1, 3, 4, 4), kwargs.pop("patch_size"), **kwargs)


def test_extract_patches_rejects_bad_images():
    with pytest.raises(ValueError, match=r"4-D \(N, C, H, W\)"):
        extract_patches(torch.rand(3, 4, 4), 3)
    with pytest.raises(TypeError, match="floating-point"):
        extract_patches(torch.zeros(1, 3, 4, 4, dtype=torch.long), 3)
    with pytest.raises(TypeError, match="torch.Tensor"):
        extract_patches([[1.0]], 3)
    with pytest.raises(ValueError, match="reflect"):
        extract_patches(torch.rand(1, 3, 4, 4), 9, padding_mode="reflect")


def test_pad_for_patches_adds_r_on_every_side():
    assert pad_for_patches(torch.rand(2, 3, 5, 6), 7).shape == (2, 3, 11, 12)
    assert pad_for_patches(torch.rand(2, 3, 5, 6), 1).shape == (2, 3, 5, 6)


# --- sample_patches -------------------------------------------------------------------------------------------


def test_sample_patches_is_class_balanced_and_centred():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 3, 10, 10, generator=g)
    masks = torch.zeros(3, 10, 10, dtype=torch.long)
    masks[0, 2, 3] = 2  # a single pixel of class 2
    masks[1, 5:, 5:] = 1
    masks[2, 0, 0] = 255  # ignored: never a centre
    patches, labels = sample_patches(images, masks, 5, 6, num_classes=4, generator=g)
    assert patches.shape == (18, 3, 5, 5)
    assert torch.bincount(labels, minlength=4).tolist() == [6, 6, 6, 0]  # class 3 absent: no patch
    assert torch.equal(patches[labels == 2][:, :, 2, 2], images[0, :, 2, 3].expand(6, 3))  # centred
    everything = extract_patches(images, 5)
    for p in patches:  # every sampled patch is one of the image's patches
        assert (everything == p).flatten(1).all(1).any()


def test_sample_patches_rejects_mismatched_masks():
    with pytest.raises(ValueError, match="masks must have shape"):
        sample_patches(torch.rand(2, 3, 8, 8), torch.zeros(2, 8, 7, dtype=torch.long), 3, 2, num_classes=2)
    with pytest.raises(TypeError, match="integer"):
        sample_patches(torch.rand(2, 3, 8, 8), torch.zeros(2, 8, 8), 3, 2, num_classes=2)
    with pytest.raises(ValueError, match="no pixel of any class"):
        sample_patches(torch.rand(1, 3, 8, 8), torch.full((1, 8, 8), 255), 3, 2, num_classes=2)


# --- sliding_window_predict -----------------------------------------------------------------------------------


def test_sliding_window_predict_classifies_each_patch():
    clf = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, 4))
    x = torch.randn(2, 2, 5, 6, generator=torch.Generator().manual_seed(3))
    logits, counts = sliding_window_predict(clf, x, 3, batch_size=7, return_counts=True)
    expected = clf(extract_patches(x, 3))  # (N*H*W, K), one row per pixel
    assert torch.allclose(logits, expected.reshape(2, 5, 6, 4).permute(0, 3, 1, 2), atol=1e-6)
    assert counts.patches == 2 * 5 * 6
    assert counts.calls == 2 * -(-30 // 7)  # per image: ceil(30 / 7) batches


@pytest.mark.parametrize("batch_size", [1, 10, 5000])
def test_sliding_window_predict_batch_size_does_not_change_result(batch_size):
    torch.manual_seed(0)
    clf = PatchClassifier(3, patch_size=5, width=4, hidden=8).eval()
    x = torch.rand(1, 3, 6, 6)
    ref = sliding_window_predict(clf, x, 5, batch_size=36)
    assert torch.allclose(sliding_window_predict(clf, x, 5, batch_size=batch_size), ref, atol=1e-6)


def test_sliding_window_predict_rejects_bad_classifier_output():
    with pytest.raises(ValueError, match=r"\(B, K\) logits"):
        sliding_window_predict(nn.Identity(), torch.rand(1, 3, 4, 4), 3)
    with pytest.raises(TypeError, match="nn.Module"):
        sliding_window_predict(lambda p: p, torch.rand(1, 3, 4, 4), 3)
    with pytest.raises(ValueError, match="odd"):
        sliding_window_predict(nn.Identity(), torch.rand(1, 3, 4, 4), 2)


@pytest.mark.parametrize("value", ["False", 0, None])
def test_sliding_window_predict_return_counts_must_be_bool(value):
    # a string "False" is truthy: taken as a flag it would return a tuple where logits were expected
    clf = nn.Sequential(nn.Flatten(), nn.Linear(3 * 3 * 3, 2))
    with pytest.raises(TypeError, match="return_counts must be True or False"):
        sliding_window_predict(clf, torch.rand(1, 3, 4, 4), 3, return_counts=value)


# --- linear_to_conv -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("in_shape", [(1, 1, 1), (3, 2, 2), (4, 5, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_to_conv_computes_the_same_function(in_shape, bias):
    torch.manual_seed(0)
    fc = nn.Linear(in_shape[0] * in_shape[1] * in_shape[2], 6, bias=bias)
    conv = linear_to_conv(fc, in_shape)
    x = torch.randn(5, *in_shape)
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == in_shape[1:]
    assert torch.allclose(conv(x).flatten(1), fc(x.flatten(1)), atol=1e-6)
    assert (conv.bias is None) == (not bias)


def test_linear_to_conv_slides_over_a_larger_input():
    torch.manual_seed(0)
    fc = nn.Linear(2 * 3 * 3, 4)
    conv = linear_to_conv(fc, (2, 3, 3))
    x = torch.randn(1, 2, 6, 7)
    out = conv(x)  # (1, 4, 4, 5): the Linear layer at every 3x3 window
    for i, j in [(0, 0), (2, 3), (3, 4)]:
        assert torch.allclose(out[0, :, i, j], fc(x[:, :, i : i + 3, j : j + 3].flatten(1))[0], atol=1e-6)


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((nn.Conv2d(1, 1, 1), (1, 1, 1)), TypeError, "nn.Linear"),
        ((nn.Linear(12, 2), (3, 2, 3)), ValueError, "in_features=12"),
        ((nn.Linear(12, 2), (12,)), ValueError, r"\(C, h, w\)"),
    ],
)
def test_linear_to_conv_rejects_bad_arguments(args, error, words):
    with pytest.raises(error, match=words):
        linear_to_conv(*args)


# --- convolutionalize -----------------------------------------------------------------------------------------


def _train_a_little(model, patch_size):
    """A few SGD steps so that batch norm's running statistics are not the trivial 0 and 1."""
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(3):
        x = torch.randn(16, model.in_channels, patch_size, patch_size) * 2 + 0.5
        loss = model(x).logsumexp(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize(
    "patch_size, kwargs",
    [
        (3, dict(width=4)),
        (5, dict(width=8, hidden=16)),
        (9, dict(width=6, convs=2)),
        (15, dict()),
        (11, dict(width=5, pool=True)),
        (15, dict(width=4, hidden=8, pool=True, convs=3)),
        (13, dict(in_channels=1, width=3, convs=4)),
    ],
)
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
def test_convolutionalized_classifier_equals_sliding_window(patch_size, kwargs, padding_mode):
    torch.manual_seed(patch_size)
    clf = _train_a_little(PatchClassifier(4, patch_size=patch_size, **kwargs), patch_size)
    x = torch.rand(2, clf.in_channels, 17, 14)
    slow = sliding_window_predict(clf, x, patch_size, padding_mode=padding_mode)
    fast = convolutionalize(clf, padding_mode=padding_mode)(x)
    assert fast.shape == slow.shape == (2, 4, 17, 14)
    assert (fast - slow).abs().max() <= 1e-5


@pytest.mark.parametrize(
    "layers, patch_size",
    [
        ([nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.Flatten(), nn.Linear(4 * 2 * 2, 3)], 9),
        (
            [
                nn.Conv2d(3, 4, 3),
                nn.AvgPool2d(2),
                nn.Conv2d(4, 4, 2, dilation=2),
                nn.Flatten(),
                nn.Linear(4 * 2 * 2, 3),
            ],
            11,
        ),
        (
            [
                nn.Conv2d(3, 4, 3),
                nn.MaxPool2d(3, stride=2),
                nn.Tanh(),
                nn.Conv2d(4, 5, 3),
                nn.Flatten(),
                nn.Linear(5 * 3 * 3, 7),
                nn.GELU(),
                nn.Dropout(0.5),
                nn.Linear(7, 3),
            ],
            13,
        ),
        ([nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)), nn.Flatten(), nn.Linear(4 * 5 * 5, 3)], 7),
    ],
)
def test_convolutionalize_handles_strides_pooling_and_nesting(layers, patch_size):
    torch.manual_seed(0)
    clf = nn.Sequential(*layers).eval()
    x = torch.rand(1, 3, 12, 13)
    slow = sliding_window_predict(clf, x, patch_size)
    fcn = convolutionalize(clf, patch_size)
    assert (fcn(x) - slow).abs().max() <= 1e-5
    strides = [m.stride for m in fcn.modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
    assert all(s in (1, (1, 1)) for s in strides)  # every stride became a dilation


def test_convolutionalize_copies_weights_and_mode():
    clf = PatchClassifier(3, patch_size=7, width=4).eval()
    fcn = convolutionalize(clf)
    assert isinstance(fcn, ConvolutionalizedClassifier) and not fcn.training and not fcn.body.training
    fcn.body[0].weight.data.zero_()  # changing the copy leaves the classifier alone
    assert clf[0].weight.abs().sum() > 0
    assert convolutionalize(clf.train()).training
    assert fcn.patch_size == 7 and "patch_size=7" in repr(fcn)


@pytest.mark.parametrize(
    "model, patch_size, error, words",
    [
        (nn.Linear(3, 3), 5, TypeError, "nn.Sequential"),
        (nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 25, 3)), 5, ValueError, "padding=1"),
        (
            nn.Sequential(nn.Conv2d(3, 4, 3, padding="same"), nn.Flatten(), nn.Linear(4 * 25, 3)),
            5,
            ValueError,
            "padding='same'",
        ),
        (
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2), nn.Flatten(), nn.Linear(4, 3)),
            5,
            TypeError,
            "layer 1 \\(Upsample\\)",
        ),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(9, 3)), 5, ValueError, "Flatten"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(10, 3)), 5, ValueError, "in_features=10"),
        (nn.Sequential(nn.Conv2d(3, 4, 7), nn.Flatten(), nn.Linear(4, 3)), 5, ValueError, "larger patch_size"),
        (nn.Sequential(nn.Conv2d(3, 4, (3, 1)), nn.Flatten(), nn.Linear(4, 3)), 5, ValueError, "not square"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), 5, ValueError, "already fully convolutional"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(36, 3)), 4, ValueError, "odd"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(36, 3)), None, ValueError, "give patch_size"),
        (
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2, ceil_mode=True), nn.Flatten(), nn.Linear(16, 3)),
            5,
            ValueError,
            "ceil_mode",
        ),
        (nn.Sequential(nn.Flatten(), nn.Linear(75, 3)), 5, ValueError, "Conv2d before Flatten"),
    ],
)
def test_convolutionalize_errors(model, patch_size, error, words):
    with pytest.raises(error, match=words):
        convolutionalize(model, patch_size)


# --- PatchClassifier ------------------------------------------------------------------------------------------


def test_patch_classifier_shapes_and_errors():
    clf = PatchClassifier(5, patch_size=15)
    assert clf(torch.rand(2, 3, 15, 15)).shape == (2, 5)
    assert clf.feature_size == 15 - 2 * 3
    assert PatchClassifier(5, patch_size=15, pool=True).feature_size == 2  # 15 -> 13 -> 6 -> 4 -> 2
    with pytest.raises(ValueError, match=r"patches must have shape \(B, 3, 15, 15\)"):
        clf(torch.rand(2, 3, 13, 13))
    with pytest.raises(ValueError, match="odd"):
        PatchClassifier(5, patch_size=8)
    with pytest.raises(ValueError, match="do not fit"):
        PatchClassifier(5, patch_size=5, convs=3)
    with pytest.raises(ValueError, match=">= 3"):
        PatchClassifier(5, patch_size=1)


def test_patch_classifier_slices_are_plain_layer_stacks():
    clf = PatchClassifier(5, patch_size=9, width=4).eval()
    features = clf[:-4]  # the layers before Flatten
    assert type(features) is nn.Sequential and features(torch.rand(2, 3, 9, 9)).shape == (2, 4, 3, 3)
    assert isinstance(clf[-1], nn.Linear)
