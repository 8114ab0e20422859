"""Face images -> ``FaceSet``: folders, file lists, arrays and registered databases.

``load_faces(source, ...)`` returns a ``FaceSet`` whose ``A`` has shape
(n_pixels, n_faces): one flattened face per column, float32 in [0, 1].
``safe_extract(archive, folder)`` unpacks a zip or tar archive with every member checked
first, as the download of a registered database does.
"""

from ._detect import DETECT_DEFAULTS
from ._faceset import FaceSet
from ._fetch import safe_extract
from ._load import list_images, load_faces
from ._read import IMAGE_EXTENSIONS
from ._registry import DATABASES, Database

__all__ = ["load_faces", "list_images", "FaceSet", "DATABASES", "Database", "IMAGE_EXTENSIONS",
           "DETECT_DEFAULTS", "safe_extract"]
