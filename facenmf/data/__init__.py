"""Face images -> ``FaceSet``: folders, file lists, arrays, registered databases and stores.

``load_faces(source, ...)`` returns a ``FaceSet`` whose ``A`` has shape
(n_pixels, n_faces): one flattened face per column, float32 in [0, 1].
``pack_faces(source, "faces.zarr")`` decodes the same sources with several processes into a
face store (uint8 faces in a zarr array, with labels and paths; resumable), which
``load_faces("faces.zarr")`` opens lazily. ``augment_faces``, ``iter_augmented`` and
``write_augmented_store`` make large, realistic face sets from a small one (in memory, in
pieces, or straight into a store).
``safe_extract(archive, folder)`` unpacks a zip or tar archive with every member checked
first, as the download of a registered database does.
"""

from ._augment import augment_faces, iter_augmented, write_augmented_store
from ._detect import DETECT_DEFAULTS
from ._faceset import FaceSet
from ._fetch import safe_extract
from ._folders import relative_names
from ._load import list_images, load_faces
from ._pack import pack_faces
from ._write import PackReport
from ._read import IMAGE_EXTENSIONS
from ._registry import DATABASES, Database
from ._store import StoreArray, is_store

__all__ = ["load_faces", "list_images", "FaceSet", "DATABASES", "Database", "IMAGE_EXTENSIONS",
           "DETECT_DEFAULTS", "safe_extract", "augment_faces", "iter_augmented",
           "write_augmented_store", "pack_faces", "PackReport", "StoreArray", "is_store",
           "relative_names"]
