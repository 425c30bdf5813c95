"""Tests for the real data sets (segbook.data.pets, .voc, .isbi), ``load_dataset`` and the interface every data set
shares (segbook.data.base): real on-disk formats, made here; no network ever."""

import hashlib
import inspect
import io

import numpy as np
import pytest
import torch
from PIL import Image
from test_download import FakeNetwork, make_tar, make_zip, md5
from torchvision import tv_tensors

import segbook.data as ds
import segbook.data.downloading as dl
from segbook.data import isbi as isbi_module
from segbook.data import pets as pets_module
from segbook.data import voc as voc_module
from segbook.data.downloading import ChecksumError, Resource

SIDE = 16  # fixture images are SIDE x SIDE so that size=SIDE reads the labels back unresized


def png_bytes(img: Image.Image, fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


def photo(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(SIDE, SIDE, 3), dtype=np.uint8))


def trimap(seed: int) -> np.ndarray:
    """Background (2) left, pet (1) right, a border band (3) between them; position varies with seed."""
    values = np.full((SIDE, SIDE), 2, dtype=np.uint8)
    values[:, 6 + seed % 3 :] = 3
    values[:, 8 + seed % 3 :] = 1
    return values


def voc_mask(seed: int) -> np.ndarray:
    """Background 0, one object of class 1 + seed % 20, a 255 border band around it."""
    values = np.zeros((SIDE, SIDE), dtype=np.uint8)
    values[3:13, 3:13] = 255
    values[4:12, 4:12] = 1 + seed % 20
    return values


def palette_png(indices: np.ndarray) -> bytes:
    img = Image.fromarray(indices, mode="P")
    # A palette in which no colour resembles VOC's: only reading indices gives the right classes.
    palette = np.random.default_rng(0).integers(0, 256, size=(256, 3), dtype=np.uint8)
    img.putpalette(palette.flatten().tolist())
    return png_bytes(img)


PET_IDS = {"trainval.txt": [f"Abyssinian_{i}" for i in range(1, 7)], "test.txt": [f"beagle_{i}" for i in range(1, 4)]}
VOC_IDS = {"train": [f"2007_{i:06d}" for i in range(8)], "val": [f"2008_{i:06d}" for i in range(4)]}
EM_SLICES = 10


def pet_archives():
    everything = [(name, i) for ids in PET_IDS.values() for i, name in enumerate(ids)]
    images = make_tar([(f"images/{n}.jpg", png_bytes(photo(i), "JPEG")) for n, i in everything])
    notes = [(f"annotations/trimaps/{n}.png", png_bytes(Image.fromarray(trimap(i), mode="L"))) for n, i in everything]
    notes += [
        (f"annotations/{f}", ("# comment\n" + "".join(f"{n} 1 1 1\n" for n in ids)).encode())
        for f, ids in PET_IDS.items()
    ]
    return images, make_tar(notes)


def voc_archive():
    root = "VOCdevkit/VOC2012"
    entries = []
    for split, ids in VOC_IDS.items():
        entries.append((f"{root}/ImageSets/Segmentation/{split}.txt", "".join(f"{n}\n" for n in ids).encode()))
        for i, n in enumerate(ids):
            entries.append((f"{root}/JPEGImages/{n}.jpg", png_bytes(photo(i), "JPEG")))
            entries.append((f"{root}/SegmentationClass/{n}.png", palette_png(voc_mask(i))))
    return make_tar(entries, mode="w")


def em_slices():
    rng = np.random.default_rng(1)
    volume = [rng.integers(0, 256, size=(SIDE, SIDE), dtype=np.uint8) for _ in range(EM_SLICES)]
    labels = []
    for i in range(EM_SLICES):
        label = np.full((SIDE, SIDE), 255, dtype=np.uint8)  # white: inside cells
        label[i % SIDE, :] = 0  # black: a membrane row
        labels.append(label)
    return volume, labels


def tiff_bytes(pages) -> bytes:
    frames = [Image.fromarray(p, mode="L") for p in pages]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


@pytest.fixture
def network(monkeypatch):
    """Fake mirrors serving fixture archives; the data sets' resources point to them with the fixtures' md5s."""
    fake = FakeNetwork()
    monkeypatch.setattr(dl, "fetch_url", fake)
    images, notes = pet_archives()
    monkeypatch.setattr(  # patched where the data sets read them
        pets_module,
        "PET_RESOURCES",
        (
            Resource("images.tar.gz", urls=(fake.serve("https://pets.test/images.tar.gz", images),), md5=md5(images)),
            Resource(
                "annotations.tar.gz", urls=(fake.serve("https://pets.test/annotations.tar.gz", notes),), md5=md5(notes)
            ),
        ),
    )
    voc = voc_archive()
    monkeypatch.setattr(
        voc_module,
        "VOC_RESOURCE",
        Resource("VOCtrainval_11-May-2012.tar", md5=md5(voc), urls=(fake.serve("https://voc.test/voc.tar", voc),)),
    )
    volume, labels = em_slices()
    tifs = {"train-volume.tif": tiff_bytes(volume), "train-labels.tif": tiff_bytes(labels)}
    em_zip = make_zip([(f"ISBI-2012-challenge/{name}", data) for name, data in tifs.items()])
    monkeypatch.setattr(
        isbi_module,
        "ISBI2012_RESOURCE",
        Resource(
            "ISBI-2012-challenge.zip",
            urls=(fake.serve("https://em.test/isbi.zip", em_zip),),
            members=tuple((name, "md5", md5(data)) for name, data in tifs.items()),
        ),
    )
    return fake


# --- the interface every data set shares ---------------------------------------------------------------------------
def build(name, root, **kwargs):
    classes = {"oxford_pet": ds.OxfordPetDataset, "voc": ds.VOCSegmentationDataset, "isbi2012": ds.ISBI2012Dataset}
    return classes[name]("train", root=root, **kwargs)


@pytest.mark.parametrize("name", ["oxford_pet", "voc", "isbi2012"])
@pytest.mark.parametrize("size", [8, 24])
def test_items_match_the_scene_dataset_interface(network, tmp_path, name, size):
    data = build(name, tmp_path, size=size)
    image, mask = data[0]
    assert isinstance(image, tv_tensors.Image) and isinstance(mask, tv_tensors.Mask)
    assert image.shape == (3, size, size) and image.dtype == torch.float32
    assert mask.shape == (size, size) and mask.dtype == torch.int64
    assert 0.0 <= image.min() and image.max() <= 1.0
    images, masks = data.tensors()
    assert images.shape == (len(data), 3, size, size) and masks.shape == (len(data), size, size)
    valid = masks[masks != data.ignore_index]
    assert data.ignore_index == 255 and 0 <= valid.min() and valid.max() < data.num_classes
    assert data.name == name and len(data.class_names) == data.num_classes


def own_folder(root):
    """A folder of the reader's own data: two photos with VOC-like masks (255 border band) as palette PNGs."""
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
    for k in range(2):
        photo(k).save(root / "images" / f"mine_{k}.jpg")
        (root / "masks" / f"mine_{k}.png").write_bytes(palette_png(voc_mask(k)))
    return root


def every_dataset(root):
    """One of each data set class: the generated ones made here, the real ones from the fake on-disk data."""
    generated = [ds.SceneDataset(3, size=SIDE), ds.CellsDataset(3, size=SIDE)]
    real = [build(name, root, size=SIDE) for name in ("oxford_pet", "voc", "isbi2012")]
    return generated + real + [ds.FolderDataset(own_folder(root / "mine"), "all", size=SIDE)]


def concrete_subclasses(cls):
    found = set()
    for sub in cls.__subclasses__():
        found |= concrete_subclasses(sub) | ({sub} if not inspect.isabstract(sub) else set())
    return found - {ds.GeneratedDataset, ds.LoadedDataset}


def test_every_data_set_implements_the_interface(network, tmp_path):
    made = every_dataset(tmp_path)
    assert {type(d) for d in made} >= {
        c for c in concrete_subclasses(ds.SegmentationDataset) if "segbook" in c.__module__
    }
    for data in made:
        assert isinstance(data, ds.SegmentationDataset)
        assert data.name in ds.DATASET_NAMES or data.name == f"folder:{tmp_path / 'mine'}", data.name
        assert isinstance(data.class_names, tuple) and all(isinstance(n, str) for n in data.class_names)
        assert data.num_classes == len(data.class_names) >= 2 and data.ignore_index == ds.IGNORE_INDEX == 255
        images, masks = data.tensors()
        assert images.shape == (len(data), 3, SIDE, SIDE) and masks.shape == (len(data), SIDE, SIDE)
        ids = data.instances()
        assert ids.shape == masks.shape and ids.dtype == torch.int64, data.name
        assert not ids[masks == data.ignore_index].any(), f"{data.name}: an ignored pixel is in an object"
        for image_ids in ids:  # ids 1..K, each used
            assert image_ids.unique().tolist() == list(range(int(image_ids.max()) + 1)), data.name


def test_the_interface_is_required_not_duck_typed():
    class NoTensors(ds.SegmentationDataset):
        name, class_names, num_classes = "mine", ("background", "thing"), 2

        def __len__(self):
            return 0

        def __getitem__(self, index):
            raise IndexError(index)

    with pytest.raises(TypeError, match="abstract"):
        NoTensors()


def test_default_instances_are_connected_regions_of_the_object_classes(network, tmp_path):
    pet, voc_data = build("oxford_pet", tmp_path, size=SIDE), build("voc", tmp_path, size=SIDE)
    assert (pet.instances().amax((1, 2)) == 1).all()  # one pet per image; the border class is no object
    assert torch.equal(pet.instances() > 0, pet.tensors()[1] == 1)
    assert (voc_data.instances().amax((1, 2)) == 1).all()  # one object, its 255 band left out
    em = build("isbi2012", tmp_path, size=SIDE)  # the objects are the cells the membranes separate
    counts = em.instances().amax((1, 2)).tolist()
    assert counts == [1 if row == 0 else 2 for row in range(len(em))]  # slice i: a membrane along row i


def test_transforms_are_applied_to_image_and_mask(network, tmp_path):
    flip = lambda image, mask: (image.flip(-1), mask.flip(-1))  # noqa: E731
    plain, flipped = build("voc", tmp_path, size=SIDE), build("voc", tmp_path, size=SIDE, transforms=flip)
    assert torch.equal(flipped[1][1], plain[1][1].flip(-1)) and torch.equal(flipped[1][0], plain[1][0].flip(-1))


def test_subsets_are_deterministic_by_seed(network, tmp_path):
    a = ds.OxfordPetDataset("train", root=tmp_path, size=8, num_images=3, seed=5)
    b = ds.OxfordPetDataset("train", root=tmp_path, size=8, num_images=3, seed=5)
    others = {ds.OxfordPetDataset("train", root=tmp_path, size=8, num_images=3, seed=s).ids for s in range(6)}
    assert a.ids == b.ids and torch.equal(a.tensors()[0], b.tensors()[0])
    assert set(a.ids) <= set(PET_IDS["trainval.txt"]) and len(others) > 1
    with pytest.raises(ValueError, match="num_images=7 but the Pet train split has only 6 images"):
        ds.OxfordPetDataset("train", root=tmp_path, num_images=7)


def test_downloads_once_then_reads_the_cache(network, tmp_path):
    build("oxford_pet", tmp_path)
    build("oxford_pet", tmp_path, download=False)
    assert network.calls == ["https://pets.test/images.tar.gz", "https://pets.test/annotations.tar.gz"]


def test_file_corrupted_after_extraction_is_refused(network, tmp_path):
    build("voc", tmp_path)
    mask = tmp_path / "voc2012/VOCtrainval_11-May-2012/VOCdevkit/VOC2012/SegmentationClass/2007_000000.png"
    mask.write_bytes(mask.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match="2007_000000.png.*changed after extraction"):
        build("voc", tmp_path)


@pytest.mark.parametrize("cls", [ds.OxfordPetDataset, ds.VOCSegmentationDataset, ds.ISBI2012Dataset])
@pytest.mark.parametrize("flag", ["False", 0, None])
def test_download_flag_must_be_a_bool_not_a_string(tmp_path, cls, flag):
    with pytest.raises(TypeError, match=f"download must be True or False, got {flag!r}"):
        cls("train", root=tmp_path, download=flag)  # "False" would otherwise switch downloading *on*
    assert list(tmp_path.iterdir()) == []


# --- Oxford-IIIT Pet -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target, border, pet, background, band, names",
    [
        ("trimap", None, 1, 0, 2, ("background", "pet", "border")),
        ("trimap", "ignore", 1, 0, 255, ("background", "pet")),
        ("binary", None, 1, 0, 1, ("background", "pet")),
        ("binary", "background", 1, 0, 0, ("background", "pet")),
        ("binary", "ignore", 1, 0, 255, ("background", "pet")),
    ],
)
def test_pet_trimap_mapping(network, tmp_path, target, border, pet, background, band, names):
    data = ds.OxfordPetDataset("train", root=tmp_path, size=SIDE, target=target, border=border)
    expected = np.select([trimap(0) == 1, trimap(0) == 2], [pet, background], band)
    assert torch.equal(data[0][1], torch.from_numpy(expected.astype(np.int64)))
    assert data.class_names == names and data.num_classes == len(names)


def test_pet_val_split_is_the_official_test_list(network, tmp_path):
    assert ds.OxfordPetDataset("val", root=tmp_path).ids == tuple(PET_IDS["test.txt"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(target="trimap", border="foreground"),
            r"border \(with target='trimap'\) must be one of 'class', 'ignore'",
        ),
        (dict(target="mask"), "target must be one of 'trimap', 'binary'"),
        (dict(size=4), "size must be >= 8"),
        (dict(num_images=0), "num_images must be >= 1"),
        (dict(transforms="flip"), "transforms must be callable"),
    ],
)
def test_pet_rejects_bad_arguments(network, tmp_path, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ds.OxfordPetDataset("train", root=tmp_path, **kwargs)


def test_pet_trimap_with_unknown_value_is_refused(tmp_path):
    bad = trimap(0)
    bad[0, 0] = 7
    Image.fromarray(bad, mode="L").save(tmp_path / "t.png")
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[[1, 2, 3]] = [1, 0, 2]
    with pytest.raises(ValueError, match=r"trimap values must be 1 \(pet\), 2 \(background\) or 3.*\[7\]"):
        ds.OxfordPetDataset._read_trimap(tmp_path / "t.png", lookup)


# --- PASCAL VOC ----------------------------------------------------------------------------------------------------
def test_voc_reads_palette_indices_and_keeps_255(network, tmp_path):
    data = ds.VOCSegmentationDataset("train", root=tmp_path, size=SIDE)
    for i in range(len(data)):
        assert torch.equal(data[i][1], torch.from_numpy(voc_mask(i).astype(np.int64)))
    masks = data.tensors()[1]
    assert (masks == 255).sum() == len(data) * (10 * 10 - 8 * 8)  # every border pixel is still 255
    assert data.num_classes == 21 and data.class_names[15] == "person"


def test_voc_border_survives_resizing_as_255_not_background(network, tmp_path):
    masks = ds.VOCSegmentationDataset("val", root=tmp_path, size=40).tensors()[1]
    assert set(masks.unique().tolist()) == {0, 255} | {1 + i % 20 for i in range(len(VOC_IDS["val"]))}


def test_voc_rgb_mask_is_refused_not_guessed(tmp_path):
    Image.fromarray(np.zeros((SIDE, SIDE, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match=r"mode 'RGB' image; VOC masks are palette PNGs \(mode 'P'\)"):
        ds.read_palette_indices(tmp_path / "rgb.png", 21)
    (tmp_path / "p.png").write_bytes(palette_png(np.full((SIDE, SIDE), 30, dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"holds indices \[30\]"):
        ds.read_palette_indices(tmp_path / "p.png", 21)


# --- ISBI 2012 -----------------------------------------------------------------------------------------------------
def test_isbi_membranes_are_the_foreground_and_splits_are_contiguous(network, tmp_path):
    train = ds.ISBI2012Dataset("train", root=tmp_path, size=SIDE)
    val = ds.ISBI2012Dataset("val", root=tmp_path, size=SIDE)
    assert len(train) == EM_SLICES - 5 and len(val) == 5 and val.ids[0] == f"slice_{EM_SLICES - 5:02d}"
    volume, labels = em_slices()
    image, mask = val[0]
    assert torch.equal(mask, torch.from_numpy((labels[EM_SLICES - 5] == 0).astype(np.int64)))
    assert torch.allclose(image[0], torch.from_numpy(volume[EM_SLICES - 5] / 255.0).float())
    assert torch.equal(image[0], image[2]) and train.class_names == ("cell interior", "membrane")


def test_isbi_zip_with_wrong_tiffs_is_refused(network, tmp_path, monkeypatch):
    resource = isbi_module.ISBI2012_RESOURCE
    wrong = (("train-volume.tif", "md5", "0" * 32),) + resource.members[1:]
    monkeypatch.setattr(
        isbi_module, "ISBI2012_RESOURCE", Resource(resource.filename, urls=resource.urls, members=wrong)
    )
    with pytest.raises(ChecksumError, match="train-volume.tif: md5 is"):
        ds.load_dataset("isbi2012", root=tmp_path)  # a wrong file is an error, never a silent fallback
    assert not (tmp_path / "isbi2012" / "ISBI-2012-challenge").exists()


def test_isbi_licence_and_citations_are_exposed():
    assert "non-commercial" in ds.ISBI2012_LICENSE and ds.ISBI2012Dataset.license == ds.ISBI2012_LICENSE
    for needle in ["Arganda-Carreras", "Frontiers in Neuroanatomy 9:142, 2015", "Cardona", "e1000502", "TrakEM2"]:
        assert needle in ds.ISBI2012_CITATION


def test_recorded_checksums_and_mirrors():
    assert [r.md5 for r in ds.PET_RESOURCES] == ["5c4f3ee8e5d25df40f4fd59a7f44e54c", "95a8c909bbe2e81eed6a22bccdf3f68f"]
    assert ds.VOC_RESOURCE.md5 == "6cd6e144f989b92b3379bac3b3de84fd"
    assert {m[0]: m[2] for m in ds.ISBI2012_RESOURCE.members} == {
        "train-volume.tif": "465461edbe0254630c4ec5577f1e7764",
        "train-labels.tif": "657fe6b728c6dd0152e295c6d800001d",
    }
    assert ds.ISBI2012_RESOURCE.urls == ("https://downloads.imagej.net/ISBI-2012-challenge.zip",)


# --- load_dataset ---------------------------------------------------------------------------------------------------
def test_load_dataset_returns_real_data_when_available(network, tmp_path):
    data = ds.load_dataset("voc", split="val", size=SIDE, num_images=2, root=tmp_path)
    assert data.name == "voc" and len(data) == 2 and data.split == "val"


@pytest.mark.parametrize(
    "name, title", [("oxford_pet", "Oxford-IIIT Pet"), ("voc", "PASCAL VOC 2012"), ("isbi2012", "ISBI 2012")]
)
def test_offline_prints_a_message_and_falls_back(monkeypatch, tmp_path, capsys, name, title):
    monkeypatch.setattr(dl, "fetch_url", FakeNetwork())  # serves nothing: every URL fails like a dead network
    data = ds.load_dataset(name, split="train", size=32, root=tmp_path)
    expected = "cells" if name == "isbi2012" else "scenes"
    out = capsys.readouterr().out
    assert data.name == expected and len(data) == 256 and data.ignore_index == 255
    assert title in out and str(tmp_path) in out and "by hand" in out and f"embedded '{expected}'" in out
    assert data[0][0].shape == (3, 32, 32)


def test_download_false_without_cache_falls_back_without_network(monkeypatch, tmp_path, capsys):
    fake = FakeNetwork()
    monkeypatch.setattr(dl, "fetch_url", fake)
    data = ds.load_dataset("voc", split="val", num_images=5, download=False, root=tmp_path)
    assert data.name == "scenes" and len(data) == 5 and fake.calls == []
    assert "downloading is off" in capsys.readouterr().out


def test_load_dataset_uses_segbook_data_env_var(network, monkeypatch, tmp_path):
    monkeypatch.setenv("SEGBOOK_DATA", str(tmp_path / "env-cache"))
    assert ds.load_dataset("oxford_pet", num_images=2, size=8).name == "oxford_pet"
    assert (tmp_path / "env-cache" / "oxford_pet" / "images.tar.gz").is_file()


def test_load_dataset_scenes_train_and_val_differ_and_repeat():
    train, val = ds.load_dataset("scenes", size=32), ds.load_dataset("scenes", split="val", size=32)
    again = ds.load_dataset("scenes", size=32)
    assert (len(train), len(val)) == (256, 64) and train.name == val.name == "scenes"
    assert not torch.equal(train.scene(0).image, val.scene(0).image)
    assert torch.equal(train.scene(0).image, again.scene(0).image)


def test_load_dataset_cells():
    data = ds.load_dataset("cells", split="val", size=32, num_images=3)
    assert data.name == "cells" and len(data) == 3 and data[0][1].dtype == torch.int64


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(name="mnist"),
            "name must be one of 'scenes', 'cells', 'oxford_pet', 'voc', 'isbi2012' or 'folder:<path>'; got 'mnist'",
        ),
        (dict(name="scenes", split="test"), "split must be one of 'train', 'val'"),
        (dict(name="scenes", download="yes"), "download must be True or False, got 'yes'"),
        (dict(name="voc", download="False"), "download must be True or False, got 'False'"),
        (dict(name="scenes", seed=-1), "seed must be >= 0"),
    ],
)
def test_load_dataset_rejects_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        ds.load_dataset(**kwargs)


def test_sha256_of_fixture_is_what_the_manifest_records(network, tmp_path):
    build("isbi2012", tmp_path)
    base = tmp_path / "isbi2012" / "ISBI-2012-challenge"
    manifest = dl.load_manifest(base)
    path = "ISBI-2012-challenge/train-labels.tif"
    assert manifest[path] == hashlib.sha256((base / path).read_bytes()).hexdigest()


def test_every_public_name_of_downloading_is_the_package_s():
    for module in (dl,):
        for name in module.__all__:
            assert getattr(module, name) is getattr(ds, name), f"{module.__name__}.{name}"
    assert ds.IGNORE_INDEX == 255 and dl.ChecksumError is ds.ChecksumError and dl.safe_extract is ds.safe_extract
