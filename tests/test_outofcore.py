"""Block-wise and out-of-core fits: memory-mapped and zarr arrays give the in-memory iterates."""

import numpy as np
import pytest

from facenmf.nmf import _blocks
from facenmf.nmf._hals import scaled_system, sweep, sweep_columns
from facenmf.nmf._loss import gram

from helpers import eight_bit_faces as pixels
from helpers import short_fit as fit

BLOCK = _blocks.BLOCK


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    # Two whole blocks and a partial one: block boundaries inside a read range and a short
    # last block.
    A8, A = pixels(2 * BLOCK + 300)
    path = tmp_path_factory.mktemp("mm") / "a.npy"
    np.save(path, A)
    return A8, A, np.load(path, mmap_mode="r")


def test_blocked_h_sweeps_equal_sweeps_of_all_columns():
    # The H update is separable by columns: with a fixed number of sweeps (eps=0), sweeping
    # block by block is the same computation as sweeping all columns at once.
    rng = np.random.default_rng(1)
    k, m = 7, 2 * BLOCK + 57
    B = rng.random((30, k))
    WtW = gram(B.T)
    Gz, inv = scaled_system(WtW)
    WtA = 3 * rng.random((k, m))
    H0 = rng.random((k, m))
    blocked = H0.copy()
    sweep_columns(blocked, WtA, Gz, inv, 3, 0.0)
    whole = H0.copy()
    sweep(whole, WtA * inv[:, None], Gz, inv, 3, 0.0, np.empty(m), np.empty((k, m)))
    np.testing.assert_allclose(blocked, whole, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("init", ["nndsvda", "nndsvd", "random"])
@pytest.mark.parametrize("extrapolate", [True, False])
def test_memory_mapped_fit_makes_the_in_memory_iterates(data, init, extrapolate):
    _, A, mm = data
    options = {"extrapolate": extrapolate}
    ref = fit(A, init=init, solver_options=options)
    got = fit(mm, init=init, solver_options=options)
    assert got.n_iter == ref.n_iter == 12
    np.testing.assert_allclose(got.history.error, ref.history.error, rtol=1e-10)
    np.testing.assert_allclose(got.W, ref.W, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got.H, ref.H, rtol=1e-8, atol=1e-10)
    assert got.error == pytest.approx(ref.error, rel=1e-10)
    assert got.W.min() >= 0 and got.H.min() >= 0


def test_zarr_uint8_and_float32_stores_agree_with_memory(data, tmp_path):
    zarr = pytest.importorskip("zarr")
    A8, A, _ = data
    # Chunks that are not a multiple of the block: reads cross chunk boundaries.
    z8 = zarr.create_array(tmp_path / "u8.zarr", shape=A8.shape, chunks=(96, 1500),
                           dtype="uint8")
    z8[:] = A8
    z32 = zarr.create_array(tmp_path / "f32.zarr", shape=A.shape, chunks=(96, 4096),
                            dtype="float32")
    z32[:] = A.astype(np.float32)
    ref = fit(A.astype(np.float32), dtype=np.float32)
    for store in (z8, z32):
        got = fit(store, dtype=np.float32)
        assert got.W.dtype == np.float32
        np.testing.assert_allclose(got.W, ref.W, atol=2e-4)
        assert got.error == pytest.approx(ref.error, rel=1e-4)
    # uint8 pixels are read as value / 255: the float64 fit of the uint8 store is the float64
    # fit of A (= A8 / 255) to rounding.
    np.testing.assert_allclose(fit(z8).W, fit(A).W, rtol=1e-8, atol=1e-10)


def test_randomized_init_does_not_depend_on_storage(tmp_path):
    # Both sides above EXACT_SVD_MAX: the randomized SVD, its random test matrix drawn block
    # by block from the seed, reads the data the same way in memory and from disk.
    rng = np.random.default_rng(0)
    A = rng.random((1600, 5)) @ rng.random((5, 1700)) + 0.1 * rng.random((1600, 1700))
    path = tmp_path / "big.npy"
    np.save(path, A)
    mm = np.load(path, mmap_mode="r")
    for init in ("nndsvd", "nndsvda"):
        a = fit(A, init=init, max_iter=0, rank=4, random_state=7)
        b = fit(mm, init=init, max_iter=0, rank=4, random_state=7)
        np.testing.assert_allclose(a.W, b.W, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("bad,message", [
    (np.nan, r"A: expected finite values, found NaN or inf in face \(column\) 2100"),
    (-1.0, r"A: expected non-negative values, found -1 in face \(column\) 2100"),
])
def test_bad_values_on_disk_name_the_face(tmp_path, bad, message):
    A = np.ones((8, BLOCK + 200))
    A[3, 2100] = bad
    np.save(tmp_path / "a.npy", A)
    with pytest.raises(ValueError, match=message) as info:
        fit(np.load(tmp_path / "a.npy", mmap_mode="r"))
    assert "\n" not in str(info.value)


def test_streamed_data_needs_a_streaming_solver(data, tmp_path):
    with pytest.raises(ValueError, match=r"solver: 'mu' needs A in memory; A is read block "
                       r"by block \(memmap\), which solvers \['hals'\] do"):
        fit(data[2], solver="mu")
    zeros = np.lib.format.open_memmap(tmp_path / "zero.npy", mode="w+", dtype=np.float64,
                                      shape=(4, 10))
    with pytest.raises(ValueError, match="A: all 40 entries are zero"):
        fit(zeros, rank=2)
