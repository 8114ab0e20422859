"""FaceSet: a matrix of faces with their identities, and splits of it by identity."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_image_shape, check_indices, check_int, check_random_state
from ._store import StoreArray

__all__ = ["FaceSet"]


@dataclass(eq=False)
class FaceSet:
    """Faces as columns of a matrix, with where they came from and who they are.

    Parameters
    ----------
    A : ndarray of shape (n_pixels, n_faces), float32
        One flattened face per column (row-major, ``image.reshape(-1)``), values in
        [0, 1]. This is the transpose of scikit-learn's ``X``. ``load_faces`` returns it
        Fortran-ordered (each face contiguous), possibly as a ``numpy.memmap``, or for a
        face store as a lazy :class:`facenmf.data.StoreArray` (read when indexed).
    labels : ndarray of shape (n_faces,) or None
        Identity of each face (for a folder per identity, the folder name), or None.
    image_shape : tuple of int
        ``(height, width)``, with ``height * width == n_pixels``.
    paths : list of str of length n_faces, or None
        The file each column was read from (None for arrays and bundled data).
    source : str
        What was loaded (a database name, a folder, ``"array"``, ...).
    skipped : list of (str, str)
        ``(file, problem)`` for every file skipped with ``on_error="skip"``.
    preparation : dict
        How the faces were made from the images, as ``load_faces`` was asked: ``source``,
        ``crop``, ``size``, ``equalize``, ``normalize``, ``detect``, ``detect_options``,
        and ``input_shape`` (the images' (height, width) before any step, when all were
        one size, else None). ``NMF(preparation=faces.preparation)`` keeps it with a model
        so that new images are prepared the same way (``load_faces(files, like=model)``).
    resized : list of (str, [int, int])
        ``(file, (height, width))`` for every image of another size that ``resize=True``
        scaled (keeping its aspect ratio) to the expected input shape.

    Examples
    --------
    >>> import numpy as np
    >>> from facenmf.data import FaceSet
    >>> faces = FaceSet(np.zeros((6, 4), np.float32), np.array(["a", "a", "b", "b"]), (2, 3))
    >>> faces.n_pixels, faces.n_faces, faces.identities.tolist()
    (6, 4, ['a', 'b'])
    >>> train, test = faces.split(train_per_identity=1, random_state=0)
    >>> train.n_faces, test.n_faces
    (2, 2)
    """

    A: np.ndarray
    labels: np.ndarray | None
    image_shape: tuple
    paths: list | None = None
    source: str = ""
    skipped: list = field(default_factory=list)
    preparation: dict = field(default_factory=dict)
    resized: list = field(default_factory=list)

    def __post_init__(self):
        if getattr(self.A, "ndim", None) != 2:
            raise ValueError(f"A: expected a 2-D array (n_pixels, n_faces), got {type(self.A).__name__} "
                             f"of shape {getattr(self.A, 'shape', None)}")
        self.image_shape = check_image_shape("image_shape", self.image_shape, self.A.shape[0],
                                             rows_of="A")
        if self.labels is not None:
            self.labels = np.asarray(self.labels)
            if self.labels.shape != (self.A.shape[1],):
                raise ValueError(f"labels: expected shape ({self.A.shape[1]},), got {self.labels.shape}")
        if self.paths is not None:
            self.paths = [str(p) for p in self.paths]
            if len(self.paths) != self.A.shape[1]:
                raise ValueError(f"paths: expected {self.A.shape[1]} paths, got {len(self.paths)}")

    # -- sizes -----------------------------------------------------------------------------
    @property
    def n_faces(self) -> int:
        """Number of faces (columns of ``A``)."""
        return self.A.shape[1]

    @property
    def n_pixels(self) -> int:
        """Number of pixels per face (rows of ``A``)."""
        return self.A.shape[0]

    @property
    def identities(self) -> np.ndarray | None:
        """Sorted distinct labels, of shape (n_identities,), or None without labels."""
        return None if self.labels is None else np.unique(self.labels)

    def __len__(self) -> int:
        return self.n_faces

    def __repr__(self) -> str:
        ids = "no labels" if self.labels is None else f"{len(self.identities)} identities"
        return (f"FaceSet({self.n_faces} faces of {self.image_shape[0]}x{self.image_shape[1]}, "
                f"{ids}, A {self.A.shape} {self.A.dtype}, source={self.source!r})")

    def images(self) -> np.ndarray:
        """Return the faces as images, of shape (n_faces, height, width) (a view when possible;
        the faces of a store are read)."""
        return np.asarray(self.A).T.reshape((self.n_faces, *self.image_shape))

    # -- subsets ---------------------------------------------------------------------------
    def subset(self, index) -> "FaceSet":
        """Return the faces picked by ``index`` (integer indices or boolean mask of n_faces).

        The new ``A`` is an in-memory float32 copy of shape (n_pixels, n_picked) (of a store:
        only the chunks holding the picked faces are read).
        """
        idx = check_indices("index", index, self.n_faces, allow_empty=True, allow_mask=True)
        A = np.asfortranarray(self.A[:, idx] if isinstance(self.A, StoreArray)
                              else np.asarray(self.A)[:, idx])
        return FaceSet(
            A=A,
            labels=None if self.labels is None else self.labels[idx],
            image_shape=self.image_shape,
            paths=None if self.paths is None else [self.paths[i] for i in idx],
            source=self.source,
            preparation=dict(self.preparation),
        )

    def select(self, identities=None, *, min_faces=None) -> "FaceSet":
        """Return the faces of the given identities and/or of identities with enough faces.

        Parameters
        ----------
        identities : sequence of labels, optional
            Keep these identities (each must exist).
        min_faces : int, optional
            Keep only identities with at least this many faces (e.g. for LFW).
        """
        labels = self._require_labels("select")
        keep = np.ones(self.n_faces, dtype=bool)
        if identities is not None:
            if isinstance(identities, (str, bytes)) or np.ndim(identities) == 0:
                identities = [identities]
            wanted = np.asarray(list(identities))
            missing = [w for w in wanted.tolist() if not np.any(labels == w)]
            if missing:
                shown = ", ".join(repr(m) for m in missing[:5])
                raise ValueError(f"identities: unknown identities {shown}"
                                 f"{' ...' if len(missing) > 5 else ''}; this FaceSet has "
                                 f"{len(self.identities)} identities")
            keep &= np.isin(labels, wanted)
        if min_faces is not None:
            min_faces = check_int("min_faces", min_faces, low=1)
            names, counts = np.unique(labels, return_counts=True)
            keep &= np.isin(labels, names[counts >= min_faces])
        return self.subset(keep)

    # -- splits ----------------------------------------------------------------------------
    def _require_labels(self, what):
        if self.labels is None:
            raise ValueError(f"{what}: this FaceSet has no identity labels (source "
                             f"{self.source!r}); load with labels (folder per identity, "
                             "pattern= or labels=)")
        return self.labels

    def _split_indices(self, k, rng):
        labels = self.labels
        train, test = [], []
        for name in np.unique(labels):
            members = np.flatnonzero(labels == name)
            if members.size <= k:
                name = name.item() if isinstance(name, np.generic) else name
                raise ValueError(
                    f"train_per_identity: identity {name!r} has {members.size} faces, needs "
                    f"more than {k} to leave some for testing (use select(min_faces={k + 1}))"
                )
            members = rng.permutation(members)
            train.append(members[:k])
            test.append(members[k:])
        return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))

    def _checked_split(self, what, train_per_identity, random_state):
        self._require_labels(what)
        k = check_int("train_per_identity", train_per_identity, low=1)
        return self._split_indices(k, check_random_state("random_state", random_state))

    def split(self, train_per_identity=5, *, random_state=0):
        """Split into train and test sets with ``train_per_identity`` faces of each identity.

        Parameters
        ----------
        train_per_identity : int
            Faces of each identity drawn at random for training; the rest are for testing.
        random_state : None, int or numpy Generator
            Seed; the same seed gives the same split.

        Returns
        -------
        train, test : FaceSet
            Disjoint; together they hold every face once, in the original order.

        Raises
        ------
        ValueError
            No labels, or an identity with ``train_per_identity`` faces or fewer.
        """
        train, test = self._checked_split("split", train_per_identity, random_state)
        return self.subset(train), self.subset(test)

    def split_indices(self, train_per_identity=5, *, random_state=0):
        """The indices ``(train, test)`` of the split :meth:`split` makes, without copying
        the faces: sorted, disjoint integer arrays into the faces, together every face once.

        Parameters and errors as :meth:`split`. A numpy Generator as ``random_state`` is
        used as it is (and advanced), so calls with one Generator give successive
        independent splits, the sequence :meth:`splits` draws.

        Examples
        --------
        >>> faces = FaceSet(np.zeros((6, 4), np.float32), np.array(["a", "a", "b", "b"]), (2, 3))
        >>> train, test = faces.split_indices(1, random_state=0)
        >>> len(train), sorted(train.tolist() + test.tolist())
        (2, [0, 1, 2, 3])
        """
        return self._checked_split("split_indices", train_per_identity, random_state)

    def splits(self, n_splits=10, train_per_identity=5, *, random_state=0):
        """Yield ``n_splits`` independent random splits ``(train, test)``, stratified by identity.

        One seeded generator draws all of them, so the sequence is reproducible.

        Parameters
        ----------
        n_splits : int
            Number of splits.
        train_per_identity : int
            Faces of each identity in each training set.
        random_state : None, int or numpy Generator

        Yields
        ------
        train, test : FaceSet
        """
        self._require_labels("splits")
        n_splits = check_int("n_splits", n_splits, low=1)
        k = check_int("train_per_identity", train_per_identity, low=1)
        rng = check_random_state("random_state", random_state)
        self._split_indices(k, np.random.default_rng(0))  # fail now, not at the first next()
        return self._generate_splits(n_splits, k, rng)

    def _generate_splits(self, n_splits, k, rng):
        for _ in range(n_splits):
            train, test = self._split_indices(k, rng)
            yield self.subset(train), self.subset(test)
