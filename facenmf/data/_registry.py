"""Registered face databases: where each one comes from, how it is laid out, how to cite it.

Only facts live here (names, addresses, checksums, layouts, licences, citations); the code
that downloads and unpacks is in ``_fetch.py``. A ``sha256`` of ``None`` means the archive's
checksum could not be verified when this table was written: facenmf then downloads it,
prints the checksum it computed in a warning, and the user is asked to compare it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Database", "DATABASES"]


@dataclass(frozen=True)
class Database:
    """One registered face database.

    Parameters
    ----------
    name : str
        The name passed to ``load_faces``.
    title : str
        What the database is, in a few words.
    url : str or None
        Canonical download address of the archive (``None``: bundled, nothing to download).
    sha256 : str or None
        SHA-256 of the archive at ``url``; ``None`` when it could not be verified.
    archive : str or None
        File name the archive is saved under in the cache folder.
    layout : {"identity-folders", "flat", "bundled"}
        ``"identity-folders"``: one sub-folder per identity, its name is the label;
        ``"flat"``: all images in one folder, ``pattern`` takes the label from the file name.
    marker : str or None
        A relative path found under the database's root folder (e.g. ``"s1/1.pgm"``); it is
        how facenmf finds the root inside an unpacked archive or a user's folder.
    glob : str or None
        Which files of the root (or of each identity folder) are faces; ``None`` means
        every file with an image extension.
    pattern : str or None
        Regular expression whose first group (or group ``label``) is the identity label,
        matched against the file name (flat layout only).
    n_faces, n_identities : int or None
        Expected counts (``None``: no identities).
    image_shape : tuple of int
        ``(height, width)`` of the images as distributed.
    size : str
        Approximate download size.
    licence : str
        Terms of use as stated by the distributor.
    citation : str
        What to cite.
    homepage : str
        Where the database is described.
    """

    name: str
    title: str
    url: str | None
    sha256: str | None
    archive: str | None
    layout: str
    marker: str | None
    glob: str | None
    pattern: str | None
    n_faces: int | None
    n_identities: int | None
    image_shape: tuple
    size: str
    licence: str
    citation: str
    homepage: str
    notes: str = field(default="")


_ENTRIES = [
    Database(
        name="lfw-subset",
        title="100 faces from Labeled Faces in the Wild, 25x25, bundled with scikit-image",
        url=None,
        sha256=None,  # bundled: skimage.data.lfw_subset() reads it from the installed package
        archive=None,
        layout="bundled",
        marker=None,
        glob=None,
        pattern=None,
        n_faces=100,
        n_identities=None,
        image_shape=(25, 25),
        size="0.1 MB (ships with scikit-image)",
        licence="As LFW (see 'lfw'); redistributed by scikit-image (BSD-3-Clause package).",
        citation=(
            "G. B. Huang, M. Mattar, H. Lee, E. Learned-Miller, 'Learning to align from "
            "scratch', NIPS 2012, pp. 764-772."
        ),
        homepage="https://scikit-image.org/docs/stable/api/skimage.data.html#skimage.data.lfw_subset",
        notes="The first 100 of the 200 images of skimage.data.lfw_subset(); the other 100 are "
              "non-faces. No identity labels.",
    ),
    Database(
        name="orl",
        title="ORL / AT&T Database of Faces: 40 people x 10 images, 112x92 PGM",
        url="https://www.cl.cam.ac.uk/research/dtg/attarchive/pub/data/att_faces.zip",
        sha256=None,  # unverified: no published checksum could be checked offline
        archive="att_faces.zip",
        layout="identity-folders",
        marker="s1/1.pgm",
        glob="*.pgm",
        pattern=None,
        n_faces=400,
        n_identities=40,
        image_shape=(112, 92),
        size="3.7 MB",
        licence="Free for research use; 'When using these images, please give credit to "
                "Olivetti Research Laboratory.'",
        citation=(
            "F. S. Samaria and A. C. Harter, 'Parameterisation of a stochastic model for human "
            "face identification', Proc. 2nd IEEE Workshop on Applications of Computer Vision, "
            "Sarasota FL, 1994, pp. 138-142. doi:10.1109/ACV.1994.341300"
        ),
        homepage="https://cam-orl.co.uk/facedatabase.html",
    ),
    Database(
        name="yale",
        title="Yale Face Database: 15 people x 11 expressions/lightings, 243x320 GIF",
        url="http://vision.ucsd.edu/datasets/yale_face_dataset_original/yalefaces.zip",
        sha256=None,  # unverified: no published checksum could be checked offline
        archive="yalefaces.zip",
        layout="flat",
        marker="subject01.happy",
        glob="subject*",
        pattern=r"^subject(?P<label>\d+)\.",
        n_faces=165,
        n_identities=15,
        image_shape=(243, 320),
        size="6.4 MB",
        licence="Free for research use; cite the paper below.",
        citation=(
            "P. N. Belhumeur, J. P. Hespanha and D. J. Kriegman, 'Eigenfaces vs. Fisherfaces: "
            "recognition using class specific linear projection', IEEE TPAMI 19(7):711-720, "
            "1997. doi:10.1109/34.598228"
        ),
        homepage="http://vision.ucsd.edu/content/yale-face-database",
        notes="Files are named subjectNN.<condition> (no image extension; GIF inside).",
    ),
    Database(
        name="extyaleb",
        title="Extended Yale Face Database B, cropped: 38 people x ~64 lightings, 192x168 PGM",
        url="http://vision.ucsd.edu/extyaleb/CroppedYaleBZip/CroppedYale.zip",
        sha256=None,  # unverified: no published checksum could be checked offline
        archive="CroppedYale.zip",
        layout="identity-folders",
        marker="yaleB01",
        glob="yaleB*_P00A*.pgm",  # frontal pose, lit; leaves out *_Ambient.pgm and *.bad
        pattern=None,
        n_faces=2414,
        n_identities=38,
        image_shape=(192, 168),
        size="56 MB",
        licence="Free for research use; cite the papers below.",
        citation=(
            "A. S. Georghiades, P. N. Belhumeur and D. J. Kriegman, 'From few to many: "
            "illumination cone models for face recognition under variable lighting and pose', "
            "IEEE TPAMI 23(6):643-660, 2001. doi:10.1109/34.927464; K.-C. Lee, J. Ho and "
            "D. J. Kriegman, 'Acquiring linear subspaces for face recognition under variable "
            "lighting', IEEE TPAMI 27(5):684-698, 2005. doi:10.1109/TPAMI.2005.92"
        ),
        homepage="http://vision.ucsd.edu/~leekc/ExtYaleDatabase/ExtYaleB.html",
    ),
    Database(
        name="cbcl",
        title="MIT CBCL Face Database #1, training faces: 2429 faces, 19x19 PGM",
        url="http://cbcl.mit.edu/projects/cbcl/software-datasets/faces.tar.gz",
        sha256=None,  # unverified: no published checksum could be checked offline
        archive="faces.tar.gz",
        layout="flat",
        marker="face00001.pgm",
        glob="face*.pgm",
        pattern=None,
        n_faces=2429,
        n_identities=None,
        image_shape=(19, 19),
        size="2.7 MB",
        licence="Free for research use; cite as below.",
        citation=(
            "CBCL Face Database #1, MIT Center for Biological and Computational Learning, "
            "http://www.ai.mit.edu/projects/cbcl. Used by D. D. Lee and H. S. Seung, 'Learning "
            "the parts of objects by non-negative matrix factorization', Nature 401:788-791, "
            "1999. doi:10.1038/44565"
        ),
        homepage="http://cbcl.mit.edu/software-datasets/FaceData2.html",
        notes="The archive also holds non-faces and a test set; facenmf reads train/face.",
    ),
    Database(
        name="lfw",
        title="Labeled Faces in the Wild: 13,233 photos of 5,749 people, 250x250 JPEG",
        url="https://ndownloader.figshare.com/files/5976018",
        # Published by scikit-learn (sklearn/datasets/_lfw.py) for this figshare mirror of
        # the original http://vis-www.cs.umass.edu/lfw/lfw.tgz.
        sha256="055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0",
        archive="lfw.tgz",
        layout="identity-folders",
        marker="Aaron_Eckhart/Aaron_Eckhart_0001.jpg",
        glob="*.jpg",
        pattern=None,
        n_faces=13233,
        n_identities=5749,
        image_shape=(250, 250),
        size="173 MB",
        licence="Research use; the photographs were collected from the web and remain the "
                "property of their owners.",
        citation=(
            "G. B. Huang, M. Ramesh, T. Berg and E. Learned-Miller, 'Labeled Faces in the Wild: "
            "a database for studying face recognition in unconstrained environments', "
            "University of Massachusetts Amherst, Technical Report 07-49, 2007."
        ),
        homepage="http://vis-www.cs.umass.edu/lfw/",
    ),
]

#: Registered databases by name; ``load_faces(name)`` looks names up here.
DATABASES: dict[str, Database] = {entry.name: entry for entry in _ENTRIES}
