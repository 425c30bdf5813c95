"""Tests for segbook.data.folder: the reader's own folder of images and masks, in every mask format it reads.

Every folder is written here with PIL; nothing is downloaded.
"""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision import tv_tensors

import segbook.data as ds
from segbook.data import FolderDataset, folder_pairs, load_dataset
from segbook.training import fit

SIDE = 16  # images are SIDE x SIDE, so that size=SIDE reads the masks back unresized


def photo(seed, shape=(SIDE, SIDE)):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, size=(*shape, 3), dtype=np.uint8))


def index_mask(seed, num_classes=3, shape=(SIDE, SIDE)):
    """Class 0 left, a class 1.. block whose position and class vary with seed, one 255 (ignored) pixel."""
    values = np.zeros(shape, dtype=np.uint8)
    values[2 + seed % 4 : 10, 3:12] = 1 + seed % (num_classes - 1)
    values[0, 0] = 255
    return values


def binary_mask(seed, shape=(SIDE, SIDE)):
    values = np.zeros(shape, dtype=np.uint8)
    values[4:12, 2 + seed % 5 : 12] = 255
    return values


def palette_image(indices):
    img = Image.frombytes("P", indices.shape[::-1], np.ascontiguousarray(indices, dtype=np.uint8).tobytes())
    # Colours unlike the class ids: converting to RGB or grey, instead of reading indices, gives wrong classes.
    img.putpalette(np.random.default_rng(1).integers(0, 256, size=(256, 3), dtype=np.uint8).flatten().tolist())
    return img


def mask_image(values, mode):
    if mode == "P":
        return palette_image(values)
    if mode == "1":
        return Image.fromarray(values == 255)
    if mode == "I;16":
        return Image.fromarray(values.astype(np.uint16))
    return Image.fromarray(values)


def write_folder(root, masks, *, mode="L", ext=".png", classes=None, images=None):
    """``root/images/<name><ext>`` and ``root/masks/<name>.png`` for each ``name: mask values``; returns root."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for k, (name, values) in enumerate(masks.items()):
        image = photo(k, values.shape) if images is None else images[name]
        image.save(root / "images" / f"{name}{ext}", **({"quality": 95} if ext.lower() in (".jpg", ".jpeg") else {}))
        mask_image(values, mode).save(root / "masks" / f"{name}.png")
    if classes is not None:
        (root / "classes.txt").write_text(classes)
    return root


def indexed(n, **kwargs):
    return {f"img_{k:02d}": index_mask(k, **kwargs) for k in range(n)}


def stacked(masks):
    return torch.from_numpy(np.stack([masks[name] for name in sorted(masks)]).astype(np.int64))


# --- mask formats --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["L", "P", "I;16"])
def test_index_masks_are_read_as_class_ids_and_255_is_kept_as_ignore(tmp_path, mode):
    masks = indexed(5)
    data = FolderDataset(write_folder(tmp_path, masks, mode=mode), "all", size=SIDE)
    assert torch.equal(data.tensors()[1], stacked(masks))
    assert data.class_names == ("class 0", "class 1", "class 2") and data.num_classes == 3
    assert data.mask_format == "index" and data.ignore_index == 255
    assert (data.tensors()[1] == 255).sum() == len(masks)  # the one ignored pixel of each mask, still 255


def test_palette_masks_are_read_as_indices_never_as_colours(tmp_path):
    masks = {"a": np.array([[0, 1], [2, 255]], dtype=np.uint8).repeat(8, 0).repeat(8, 1)}
    write_folder(tmp_path, masks, mode="P", classes="background\nroad\ncar\n")
    with Image.open(tmp_path / "masks" / "a.png") as img:
        assert img.mode == "P" and not np.array_equal(np.array(img.convert("L")), masks["a"])
    data = FolderDataset(tmp_path, "all", size=SIDE)
    assert data.tensors()[1][0].unique().tolist() == [0, 1, 2, 255]
    assert torch.equal(data.tensors()[1][0], torch.from_numpy(masks["a"].astype(np.int64)))
    assert data.class_names == ("background", "road", "car")


@pytest.mark.parametrize("mode", ["L", "1"])
def test_binary_0_255_masks_become_background_and_foreground(tmp_path, mode):
    masks = {f"b{k}": binary_mask(k) for k in range(4)}
    data = FolderDataset(write_folder(tmp_path, masks, mode=mode), "all", size=SIDE)
    assert data.mask_format == "binary" and data.class_names == ("background", "foreground")
    assert torch.equal(data.tensors()[1], (stacked(masks) == 255).long())  # 255 is class 1, not ignored


def test_binary_masks_take_their_two_names_from_classes_txt(tmp_path):
    write_folder(tmp_path, {"b0": binary_mask(0), "b1": binary_mask(1)}, classes="# mine\nsky\n\nbuilding\n")
    data = FolderDataset(tmp_path, "all", size=SIDE)
    assert data.mask_format == "binary" and data.class_names == ("sky", "building")
    assert data.tensors()[1].unique().tolist() == [0, 1]


@pytest.mark.parametrize(
    "masks, classes, fmt, expected_names, values",
    [
        ({"a": binary_mask(0)}, "a\nb\nc\n", "auto", ("a", "b", "c"), [0, 255]),  # 3 names: index, 255 ignored
        ({"a": binary_mask(0)}, None, "index", ("class 0", "class 1"), [0, 255]),  # asked for
        ({"a": binary_mask(0) // 255}, None, "auto", ("class 0", "class 1"), [0, 1]),  # 0/1 masks
        ({"a": np.zeros((SIDE, SIDE), np.uint8)}, None, "auto", ("class 0", "class 1"), [0]),  # only 0: index
    ],
)
def test_auto_is_binary_only_for_0_255_masks_with_two_classes(tmp_path, masks, classes, fmt, expected_names, values):
    data = FolderDataset(write_folder(tmp_path, masks, classes=classes), "all", size=SIDE, mask_format=fmt)
    assert data.mask_format == "index" and data.class_names == expected_names
    assert data.tensors()[1].unique().tolist() == values


def test_binary_format_is_decided_by_every_mask_of_the_data_set_not_the_split(tmp_path):
    masks = {f"b{k}": binary_mask(k) for k in range(9)}
    masks["b0"] = masks["b0"] // 255  # one 0/1 mask: the data set is not 0/255
    write_folder(tmp_path, masks)
    val = FolderDataset(tmp_path, "val", size=SIDE)
    assert "b0" not in val.ids and val.mask_format == "index"
    assert FolderDataset(tmp_path, "train", size=SIDE).class_names == val.class_names


def test_the_largest_class_id_of_any_split_names_the_classes(tmp_path):
    masks = indexed(10)
    held_out = folder_pairs(write_folder(tmp_path, masks), "val")[0][0]
    masks[held_out][5, 5] = 6  # only in a validation mask
    write_folder(tmp_path, masks)
    for split in ("train", "val"):
        assert FolderDataset(tmp_path, split, size=SIDE).num_classes == 7, split


def test_class_names_argument_wins_over_classes_txt_and_custom_ignore_index_is_kept(tmp_path):
    masks = {"a": index_mask(0)}
    masks["a"][0, 0] = 254
    write_folder(tmp_path, masks, classes="x\ny\n")
    data = FolderDataset(tmp_path, "all", size=SIDE, class_names=["bg", "thing", "other"], ignore_index=254)
    assert data.class_names == ("bg", "thing", "other") and data.ignore_index == 254
    assert data.tensors()[1].unique().tolist() == [0, 1, 254]


@pytest.mark.parametrize("size", [7 + 1, 24, 40])
def test_resizing_keeps_class_ids_and_makes_no_new_values(tmp_path, size):
    rng = np.random.default_rng(0)
    masks = {f"m{k}": rng.choice([0, 1, 2, 3, 255], size=(33, 33)).astype(np.uint8) for k in range(3)}
    data = FolderDataset(write_folder(tmp_path, masks), "all", size=size)
    images, labels = data.tensors()
    assert images.shape == (3, 3, size, size) and labels.shape == (3, size, size)
    assert set(labels.unique().tolist()) <= {0, 1, 2, 3, 255}


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".JPG", ".bmp", ".tif", ".tiff", ".png"])
def test_every_image_type_is_read_as_rgb_in_0_1(tmp_path, ext):
    images = {"a": Image.new("RGB", (SIDE, SIDE), (255, 128, 0)), "b": Image.new("L", (SIDE, SIDE), 64)}
    write_folder(tmp_path, {"a": index_mask(0), "b": index_mask(1)}, ext=ext, images=images)
    pictures = FolderDataset(tmp_path, "all", size=SIDE).tensors()[0]
    expected = torch.tensor([[1.0, 128 / 255, 0.0], [64 / 255] * 3])
    assert torch.allclose(pictures.mean((2, 3)), expected, atol=0.02)  # JPEG is lossy, by a little


# --- splits --------------------------------------------------------------------------------------------------------
def test_flat_folder_holds_out_a_fixed_fifth_whatever_the_seed(tmp_path):
    write_folder(tmp_path, indexed(10))
    train, val = FolderDataset(tmp_path, "train", size=8), FolderDataset(tmp_path, "val", size=8)
    everything = FolderDataset(tmp_path, "all", size=8)
    assert (len(train), len(val), len(everything)) == (8, 2, 10)
    assert not set(train.ids) & set(val.ids) and sorted(train.ids + val.ids) == list(everything.ids)
    assert list(everything.ids) == sorted(everything.ids)
    assert FolderDataset(tmp_path, "val", size=8, seed=7).ids == val.ids  # the seed picks subsets only
    assert [name for name, _, _ in folder_pairs(tmp_path, "val")] == list(val.ids)


def test_subsets_are_drawn_by_seed_from_the_split(tmp_path):
    write_folder(tmp_path, indexed(10))
    a, b = (FolderDataset(tmp_path, "train", size=8, num_images=3, seed=5) for _ in range(2))
    assert a.ids == b.ids and torch.equal(a.tensors()[0], b.tensors()[0])
    assert set(a.ids) <= set(FolderDataset(tmp_path, "train", size=8).ids)
    assert len({FolderDataset(tmp_path, "train", size=8, num_images=3, seed=s).ids for s in range(6)}) > 1
    with pytest.raises(ValueError, match=r"num_images=9 but the train split of .* has only 8 images"):
        FolderDataset(tmp_path, "train", num_images=9)


@pytest.mark.parametrize("count, num_val", [(2, 1), (3, 1), (5, 1), (8, 2), (23, 5)])
def test_at_least_one_image_is_held_out(tmp_path, count, num_val):
    write_folder(tmp_path, indexed(count))
    assert len(folder_pairs(tmp_path, "val")) == num_val
    assert len(folder_pairs(tmp_path, "train")) == count - num_val


def test_a_single_image_has_an_empty_val_split(tmp_path):
    write_folder(tmp_path, indexed(1))
    assert len(FolderDataset(tmp_path, "train", size=8)) == 1
    with pytest.raises(ValueError, match=r"the val split of .* is empty: the folder holds 1 image\(s\)"):
        FolderDataset(tmp_path, "val")


def test_train_and_val_folders_are_the_splits(tmp_path):
    write_folder(tmp_path / "train", indexed(3))
    write_folder(tmp_path / "val", {"v": index_mask(9)})
    (tmp_path / "classes.txt").write_text("bg\none\ntwo\n")
    train, val = FolderDataset(tmp_path, "train", size=8), FolderDataset(tmp_path, "val", size=8)
    assert train.ids == ("img_00", "img_01", "img_02") and val.ids == ("v",)
    assert train.class_names == val.class_names == ("bg", "one", "two")
    assert FolderDataset(tmp_path, "all", size=8).ids == ("train/img_00", "train/img_01", "train/img_02", "val/v")
    (tmp_path / "images").mkdir()
    with pytest.raises(ValueError, match="holds both images/ and train/images"):
        FolderDataset(tmp_path, "train")


# --- the interface -------------------------------------------------------------------------------------------------
def test_items_tensors_and_instances_follow_the_interface(tmp_path):
    masks = indexed(4)
    data = FolderDataset(write_folder(tmp_path, masks), "all", size=SIDE)
    assert isinstance(data, ds.SegmentationDataset) and data.name == f"folder:{tmp_path}"
    image, mask = data[1]
    assert isinstance(image, tv_tensors.Image) and isinstance(mask, tv_tensors.Mask)
    assert image.shape == (3, SIDE, SIDE) and image.dtype == torch.float32 and 0 <= image.min() <= image.max() <= 1
    assert mask.dtype == torch.int64 and torch.equal(mask, torch.from_numpy(masks["img_01"].astype(np.int64)))
    assert torch.equal(data[-1][1], data[3][1])
    ids = data.instances()
    assert ids.shape == (4, SIDE, SIDE) and (ids.amax((1, 2)) == 1).all() and not ids[0, 0, 0]  # ignored: no object
    assert data.image_files[1] == tmp_path / "images" / "img_01.png"
    assert data.mask_files[1] == tmp_path / "masks" / "img_01.png"
    flipped = FolderDataset(tmp_path, "all", size=SIDE, transforms=lambda i, m: (i.flip(-1), m.flip(-1)))
    assert torch.equal(flipped[2][1], data[2][1].flip(-1))


def test_load_dataset_reads_a_folder_by_name(tmp_path):
    write_folder(tmp_path, indexed(10))
    train = load_dataset(f"folder:{tmp_path}", split="train", size=8, num_images=4, seed=3)
    val = load_dataset(f"folder:{tmp_path}", split="val", size=8)
    assert isinstance(train, FolderDataset) and train.name == f"folder:{tmp_path}" and len(train) == 4
    assert train.ids == FolderDataset(tmp_path, "train", size=8, num_images=4, seed=3).ids
    assert len(val) == 2 and not set(train.ids) & set(val.ids)
    assert "folder" not in ds.DATASET_NAMES


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(name="folder:"), ValueError, "name 'folder:' names no folder"),
        (dict(name="folder:/no/such/folder"), FileNotFoundError, "/no/such/folder is not a folder; expected"),
        (dict(name="folder:x", root="/tmp"), ValueError, "root is the download cache"),
        (dict(name="mnist"), ValueError, "or 'folder:<path>'; got 'mnist'"),
    ],
)
def test_load_dataset_refuses_a_bad_folder_without_fallback(kwargs, error, message, capsys):
    with pytest.raises(error, match=message):
        load_dataset(**kwargs)
    assert capsys.readouterr().out == ""  # no fallback message: nothing replaces the reader's own data


def test_a_folder_data_set_trains_end_to_end(tmp_path):
    data = FolderDataset(write_folder(tmp_path, indexed(6)), "train", size=SIDE)
    loader = torch.utils.data.DataLoader(data, batch_size=2, shuffle=True)
    torch.manual_seed(0)
    model = nn.Conv2d(3, data.num_classes, 1)
    history = fit(model, loader, num_classes=data.num_classes, lr=1e-2, epochs=1, progress=False)
    (loss,) = history.as_dict()["train_loss"]
    assert len(history) == 1 and np.isfinite(loss)


# --- errors that name the file -------------------------------------------------------------------------------------
def test_missing_folders_say_the_expected_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere is not a folder; expected <root>/images/<name>\.<png"):
        FolderDataset(tmp_path / "nowhere")
    (tmp_path / "pictures").mkdir()
    with pytest.raises(FileNotFoundError, match=r"has no images/ folder; expected <root>/images/"):
        FolderDataset(tmp_path)
    (tmp_path / "train" / "images").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no images/ folder \(found train/images but no val/images\)"):
        FolderDataset(tmp_path)
    (tmp_path / "images").mkdir()
    with pytest.raises(FileNotFoundError, match=r"images has no masks folder next to it: expected .*masks/<name>.png"):
        FolderDataset(tmp_path)
    (tmp_path / "masks").mkdir()
    (tmp_path / "images" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"images holds no images \(.png, .jpg"):
        FolderDataset(tmp_path)


def test_an_image_without_a_mask_and_a_mask_without_an_image_are_named(tmp_path):
    write_folder(tmp_path, indexed(3))
    (tmp_path / "masks" / "img_01.png").rename(tmp_path / "masks" / "img_01.jpg")
    with pytest.raises(FileNotFoundError, match=r"img_01.png has no mask: expected .*masks/img_01.png \(found img_01"):
        FolderDataset(tmp_path)
    (tmp_path / "masks" / "img_01.jpg").rename(tmp_path / "masks" / "img_01.png")
    (tmp_path / "images" / "img_02.png").rename(tmp_path / "images" / "img_02.gif")
    with pytest.raises(FileNotFoundError, match=r"masks/img_02.png has no image: expected .*images/img_02.<png\|jpg"):
        FolderDataset(tmp_path)


def test_two_images_with_one_name_are_refused(tmp_path):
    write_folder(tmp_path, indexed(2))
    photo(0).save(tmp_path / "images" / "img_00.jpg")
    with pytest.raises(ValueError, match=r"img_00.jpg and .*img_00.png have the same name"):
        FolderDataset(tmp_path)


def test_an_image_and_its_mask_of_different_sizes_are_refused_with_both_sizes(tmp_path):
    write_folder(tmp_path, {"a": index_mask(0, shape=(12, 20))}, images={"a": photo(0, (12, 21))})
    with pytest.raises(ValueError, match=r"images/a.png is 21 x 12 pixels but its mask .*masks/a.png is 20 x 12"):
        FolderDataset(tmp_path, "all")
    photo(0, (20, 12)).save(tmp_path / "images" / "a.png")
    with pytest.raises(ValueError, match="turned 90 degrees"):
        FolderDataset(tmp_path, "all")


def test_a_colour_mask_is_refused_with_how_to_save_it(tmp_path):
    write_folder(tmp_path, indexed(2))
    Image.new("RGB", (SIDE, SIDE), (128, 0, 0)).save(tmp_path / "masks" / "img_01.png")
    with pytest.raises(ValueError, match=r"masks/img_01.png is a mode 'RGB' colour image; .*palette PNG \(mode 'P'\)"):
        FolderDataset(tmp_path, "all")


def test_a_class_id_without_a_name_is_refused_naming_file_values_and_names(tmp_path):
    masks = indexed(3)
    masks["img_02"][4, 4] = 7
    write_folder(tmp_path, masks, classes="bg\nroad\ncar\n")
    message = r"masks/img_02.png holds class id\(s\) \[7\] but there are 3 classes \['bg', 'road', 'car'\]"
    with pytest.raises(ValueError, match=message):
        FolderDataset(tmp_path, "all")
    with pytest.raises(ValueError, match="img_02.png holds class id"):  # the file is checked whatever the split
        FolderDataset(tmp_path, "all", num_images=1, seed=0, mask_format="index")


def test_anti_aliased_masks_are_refused_not_taken_for_255_classes(tmp_path):
    smooth = np.tile(np.arange(SIDE, dtype=np.uint8) * 17, (SIDE, 1))  # 0, 17, ..., 255: an anti-aliased edge
    write_folder(tmp_path, {"a": smooth})
    with pytest.raises(ValueError, match=r"masks/a.png holds class id 238 and there is no classes.txt"):
        FolderDataset(tmp_path, "all")
    with pytest.raises(ValueError, match=r"a.png holds values \[17, 34, .*a binary mask holds only 0"):
        FolderDataset(tmp_path, "all", mask_format="binary")


@pytest.mark.parametrize("which", ["images/img_01.png", "masks/img_01.png"])
def test_a_corrupt_file_is_named(tmp_path, which):
    write_folder(tmp_path, indexed(2))
    data = (tmp_path / which).read_bytes()
    (tmp_path / which).write_bytes(data[: len(data) // 2])  # truncated, as by an interrupted copy
    with pytest.raises(ValueError, match=rf"{which} cannot be read as an image \(is it complete\?\)"):
        FolderDataset(tmp_path, "all")


def test_images_and_masks_of_more_than_8_bits(tmp_path):
    write_folder(tmp_path, indexed(2))
    Image.fromarray(np.full((SIDE, SIDE), 300, np.uint16)).save(tmp_path / "masks" / "img_00.png")
    with pytest.raises(ValueError, match=r"masks/img_00.png holds values up to 300: class ids .* must be 0..255"):
        FolderDataset(tmp_path, "all")
    write_folder(tmp_path, indexed(2))
    Image.fromarray(np.full((SIDE, SIDE), 3000, np.uint16)).save(tmp_path / "images" / "img_01.png")
    with pytest.raises(ValueError, match=r"images/img_01.png is a mode 'I;16' image; segbook reads 8-bit images"):
        FolderDataset(tmp_path, "all")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(split="test"), ValueError, "split must be one of 'train', 'val', 'all'"),
        (dict(mask_format="rgb"), ValueError, "mask_format must be one of 'auto', 'index', 'binary'"),
        (dict(ignore_index=-1), ValueError, "ignore_index must be >= 0"),
        (dict(ignore_index=1, class_names=["a", "b", "c"]), ValueError, r"ignore_index=1 is a class index \(C=3"),
        (dict(class_names="background"), TypeError, "class_names must be a list or tuple"),
        (dict(class_names=["a", 2]), TypeError, "class_names must hold non-empty strings"),
        (dict(class_names=["a", "a"]), ValueError, "at least 2 different class names"),
        (dict(class_names=["a", "b", "c"], mask_format="binary"), ValueError, "makes 2 classes, but 3 class names"),
        (dict(size=4), ValueError, "size must be >= 8"),
        (dict(transforms="flip"), TypeError, "transforms must be callable"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, error, message):
    write_folder(tmp_path, indexed(3))
    with pytest.raises(error, match=message):
        FolderDataset(tmp_path, **{"split": "all", **kwargs})


def test_bad_roots_and_classes_files_are_refused(tmp_path):
    with pytest.raises(TypeError, match="root must be a folder path"):
        FolderDataset(3)
    with pytest.raises(ValueError, match="root must be a folder path, got an empty string"):
        FolderDataset("")
    write_folder(tmp_path, indexed(3), classes="# just one\nbackground\n")
    with pytest.raises(ValueError, match=r"classes.txt must hold at least 2 different class names"):
        FolderDataset(tmp_path)
