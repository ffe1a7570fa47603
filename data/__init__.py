"""Every way data comes in: dataset readers and writers, closets from photos, safe image loading,
and the synthetic fashion world (``data.synth``, imported on demand)."""

from .dataset import CompatibilityQuestion, Dataset, FITBQuestion
from .folder import FolderCloset, read_closet_folder
from .images import ImageInfo, load_image, probe_image, save_jpeg
from .loaders import FORMATS, detect_format, load_closet, load_dataset
from .maryland import read_maryland
from .polyvore import read_categories, read_polyvore_outfits, write_polyvore_outfits

__all__ = [
    "Dataset",
    "CompatibilityQuestion",
    "FITBQuestion",
    "FORMATS",
    "detect_format",
    "load_dataset",
    "load_closet",
    "read_polyvore_outfits",
    "write_polyvore_outfits",
    "read_categories",
    "read_maryland",
    "read_closet_folder",
    "FolderCloset",
    "load_image",
    "probe_image",
    "save_jpeg",
    "ImageInfo",
]
