"""The data set interface every segbook data set implements, and the two bases behind it (chapters 1, 7, 8, 11).

A chapter never asks *which* data set it was given: it asks the data set. :class:`SegmentationDataset` says what
every data set answers:

=====================  ==================================================================================
``name``               the name :func:`segbook.data.load_dataset` knows it by (``"scenes"``, ``"voc"``, ...)
``class_names``        one name per class id; ``num_classes`` is their number (C)
``ignore_index``       the target value no loss or metric counts (:data:`segbook.conventions.IGNORE_INDEX`)
``ds[i]``              ``(image, mask)``: ``tv_tensors.Image`` float32 (3, H, W) in [0, 1], ``tv_tensors.Mask``
                       int64 (H, W)
``tensors()``          all images (N, 3, H, W) and masks (N, H, W), stacked, without transforms
``instances()``        int64 (N, H, W) instance ids: 0 = no object, ``1..K`` one per object of each image
=====================  ==================================================================================

``instances()`` has a default: the connected regions of each class in ``instance_classes`` (every class but 0
unless a data set says otherwise), :func:`segbook.data.labels.connected_instances`. A data set that knows its
objects does better: the procedural scenes give each painted object its id, the touching cells each cell.

Two bases implement the interface: :class:`GeneratedDataset` for data made from a seed (the scenes and the
touching cells) and :class:`LoadedDataset` for images read from disk once (Pet, VOC, ISBI 2012).
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Callable, ClassVar, Dict, List, Optional, Sequence, Tuple

import torch
from torch.utils.data import Dataset

from segbook.conventions import IGNORE_INDEX, check_bool, check_int
from segbook.data.labels import connected_instances

__all__ = ["SegmentationDataset", "GeneratedDataset", "LoadedDataset"]


def _items(images: torch.Tensor, masks: torch.Tensor, transforms: Optional[Callable]) -> Tuple[Any, Any]:
    from torchvision import tv_tensors  # imported here: torchvision is only needed when items are read

    image, mask = tv_tensors.Image(images), tv_tensors.Mask(masks)
    if transforms is not None:
        image, mask = transforms(image, mask)
    return image, mask


def _check_index(index: object, length: int, owner: object) -> int:
    index = check_int(index, "index")
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a {type(owner).__name__} of {length} images")
    return index % max(length, 1)


class SegmentationDataset(Dataset, abc.ABC):
    """What every segbook data set answers (the table in :mod:`segbook.data.base`); subclass it for a new one.

    A subclass sets ``name``, ``class_names`` and ``num_classes`` and implements ``__len__``, ``__getitem__``
    and :meth:`tensors`; it may set ``instance_classes`` or override :meth:`instances`.
    """

    name: str = ""
    class_names: Tuple[str, ...] = ()
    num_classes: int = 0
    ignore_index: int = IGNORE_INDEX
    #: The classes whose connected regions are objects in :meth:`instances`; ``None``: every class but 0.
    instance_classes: Optional[Tuple[int, ...]] = None

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def __getitem__(self, index: int) -> Tuple[Any, Any]: ...

    @abc.abstractmethod
    def tensors(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """All images (N, 3, H, W) float32 and masks (N, H, W) int64, stacked, without transforms."""

    def instances(self) -> torch.Tensor:
        """Instance ids of every image, int64 (N, H, W): 0 = no object, ``1..K`` one id per object.

        Default: each connected region of a class in ``instance_classes`` is one object
        (:func:`~segbook.data.labels.connected_instances`); ignored pixels are 0.
        """
        classes = self.instance_classes
        if classes is None:
            classes = tuple(range(1, self.num_classes))
        return connected_instances(self.tensors()[1], classes)


class GeneratedDataset(SegmentationDataset):
    """Data made from a seed (:class:`~segbook.data.SceneDataset`, :class:`~segbook.data.CellsDataset`).

    Options come from a config dataclass or its fields as keywords; sample ``i`` is ``generate(config, seed, i)``,
    cached on first use; items are ``(tv_tensors.Image, tv_tensors.Mask)`` with optional transforms v2.
    A subclass sets ``config_type`` (the config dataclass) and ``generate`` (the generator, a ``staticmethod``
    returning a sample with ``image`` and ``label`` tensors).
    """

    config_type: ClassVar[type]
    generate: ClassVar[Callable[..., Any]]

    def __init__(
        self,
        num_images: int,
        *,
        seed: int = 0,
        transforms: Optional[Callable] = None,
        cache: bool = True,
        config: Optional[object] = None,
        **knobs: Any,
    ) -> None:
        kind, config_kind = type(self).__name__, self.config_type.__name__
        self.num_images = check_int(num_images, "num_images", minimum=0)
        self.seed = check_int(seed, "seed", minimum=0)
        if config is not None and knobs:
            raise ValueError(f"pass either config={config_kind}(...) or its fields as keywords, not both")
        if config is None:
            fields = [f.name for f in dataclasses.fields(self.config_type)]
            unknown = set(knobs) - set(fields)
            if unknown:
                raise TypeError(
                    f"unknown {kind} option(s) {sorted(unknown)}; the options are the {config_kind} fields {fields}"
                )
            config = self.config_type(**knobs)
        elif not isinstance(config, self.config_type):
            raise TypeError(f"config must be a {config_kind}, got {type(config).__name__}")
        if transforms is not None and not callable(transforms):
            raise TypeError(f"transforms must be callable (image, mask) -> (image, mask), got {transforms!r}")
        self.config = config
        self.transforms = transforms
        self.cache = check_bool(cache, "cache")
        self._cache: Dict[int, Any] = {}

    def __len__(self) -> int:
        return self.num_images

    def sample(self, index: int) -> Any:
        """The full generated sample number ``index`` (a :class:`~segbook.data.Scene` or
        :class:`~segbook.data.Cells`), with every label it carries."""
        index = _check_index(index, self.num_images, self)
        if index in self._cache:
            return self._cache[index]
        sample = type(self).generate(self.config, self.seed, index)
        if self.cache:
            self._cache[index] = sample
        return sample

    def __getitem__(self, index: int) -> Tuple[Any, Any]:
        sample = self.sample(index)
        return _items(sample.image, sample.label, self.transforms)

    def tensors(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """All images (N, 3, H, W) and masks (N, H, W) stacked, without transforms (for fast full-batch work)."""
        samples = [self.sample(i) for i in range(self.num_images)]
        return torch.stack([s.image for s in samples]), torch.stack([s.label for s in samples])

    def foreground_fraction(self) -> float:
        """The fraction of pixels that are not background, over the whole data set."""
        _, masks = self.tensors()
        return float((masks != 0).float().mean())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_images={self.num_images}, seed={self.seed}, config={self.config})"


class LoadedDataset(SegmentationDataset):
    """Images read from disk (Pet, VOC, ISBI 2012): loaded once at ``size x size``, served as tv_tensors.

    A subclass reads its files, then calls ``super().__init__(images, masks, ids, class_names, transforms)``;
    it sets ``name``, ``license`` and ``citation`` as class attributes.
    """

    license: str = ""
    citation: str = ""

    def __init__(
        self,
        images: List[torch.Tensor],
        masks: List[torch.Tensor],
        ids: Sequence[str],
        class_names: Sequence[str],
        transforms: Optional[Callable],
    ) -> None:
        self.ids = tuple(ids)
        self.class_names = tuple(class_names)
        self.num_classes = len(self.class_names)
        self.transforms = transforms
        self._images = torch.stack(images) if images else torch.zeros(0, 3, 0, 0)
        self._masks = torch.stack(masks) if masks else torch.zeros(0, 0, 0, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> Tuple[Any, Any]:
        index = _check_index(index, len(self), self)
        return _items(self._images[index], self._masks[index], self.transforms)

    def tensors(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """All images (N, 3, H, W) float32 and masks (N, H, W) int64, without transforms."""
        return self._images.clone(), self._masks.clone()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, num_images={len(self)}, "
            f"size={tuple(self._masks.shape[1:])}, num_classes={self.num_classes})"
        )
