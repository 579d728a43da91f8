"""Audio features: framing, the short-time Fourier transform, mel spectrograms and MFCCs, in NumPy.

For a signal ``x`` at sample rate ``sr``, frame length ``N`` (``n_fft``), hop ``H`` and window ``w``:

    frame t:        x_t[n] = x[t·H + n],  n = 0 … N-1        (after reflect-padding N/2 each side if center)
    STFT:           X[t, k] = Σ_n w[n] x_t[n] e^{-2πi k n / N},   k = 0 … N/2
    power:          P[t, k] = |X[t, k]|^power                   (power 2: energy, 1: magnitude)
    mel scale:      m(f) = 2595 · log10(1 + f / 700)          (HTK)
    mel filters:    triangles M[j, k] rising from m_{j-1} to m_j and falling to m_{j+1}, equally spaced in mel
    mel spectrum:   S[t, j] = Σ_k M[j, k] P[t, k]
    log-mel:        L = 10 · log10(max(S, amin))             (decibels)
    MFCC:           C[t, q] = Σ_j L[t, j] · DCT-II_ortho[q, j]  (the first n_mfcc coefficients)

These match ``torch.stft(x, n_fft, hop_length, window=torch.hann_window(n_fft), center=True,
pad_mode="reflect", return_complex=True)`` (transposed to time-major) and use the HTK mel scale with
unnormalised triangular filters. Shapes follow the time-major convention: ``(frames, bins)``; a leading
batch axis is kept when given.
"""
import numpy as np


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"audio: {name} must be a positive integer, got {value!r}")


def hann_window(n, periodic=True):
    """``w[n] = 0.5 − 0.5·cos(2πn / N)`` with ``N = n`` (periodic, for spectra) or ``n − 1`` (symmetric)."""
    _check_positive("window length", n)
    if n == 1:
        return np.ones(1)
    denom = n if periodic else n - 1
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / denom)


def frame(x, frame_length, hop_length):
    """Overlapping frames ``(…, frames, frame_length)`` of a signal ``(…, samples)``, frame t starting at
    ``t · hop_length`` (a strided view; no copy)."""
    _check_positive("frame_length", frame_length)
    _check_positive("hop_length", hop_length)
    x = np.asarray(x)
    if x.shape[-1] < frame_length:
        raise ValueError(f"audio.frame: a signal of {x.shape[-1]} samples is shorter than one frame "
                         f"({frame_length})")
    frames = np.lib.stride_tricks.sliding_window_view(x, frame_length, axis=-1)
    return frames[..., ::hop_length, :]


def stft(x, n_fft=400, hop_length=None, window=None, center=True, pad_mode="reflect"):
    """Complex STFT ``(…, frames, n_fft // 2 + 1)`` of ``x`` ``(…, samples)``; hop defaults to ``n_fft // 4``
    and the window to a periodic Hann window of ``n_fft`` samples."""
    _check_positive("n_fft", n_fft)
    hop_length = n_fft // 4 if hop_length is None else hop_length
    x = np.asarray(x, dtype=np.float64)
    w = hann_window(n_fft) if window is None else np.asarray(window, dtype=np.float64)
    if w.shape != (n_fft,):
        raise ValueError(f"audio.stft: window must have n_fft = {n_fft} samples, got shape {w.shape}")
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        x = np.pad(x, pad, mode=pad_mode)
    return np.fft.rfft(frame(x, n_fft, hop_length) * w, axis=-1)


def spectrogram(x, n_fft=400, hop_length=None, power=2.0, **kwargs):
    """``|STFT|^power``: energy (``power=2``) or magnitude (``power=1``) per frame and frequency bin."""
    return np.abs(stft(x, n_fft, hop_length, **kwargs)) ** power


def hz_to_mel(f):
    """HTK mel scale ``2595 · log10(1 + f / 700)``."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    """Inverse of :func:`hz_to_mel`: ``700 · (10^(m / 2595) − 1)``."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sr, n_fft, n_mels=40, f_min=0.0, f_max=None):
    """Triangular filters ``(n_mels, n_fft // 2 + 1)``: filter ``j`` peaks (value 1) at the ``j+1``-th of
    ``n_mels + 2`` points equally spaced in mel between ``f_min`` and ``f_max`` (default ``sr / 2``)."""
    _check_positive("sr", sr)
    _check_positive("n_mels", n_mels)
    f_max = sr / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sr / 2:
        raise ValueError(f"audio.mel_filterbank: need 0 <= f_min < f_max <= sr/2 = {sr / 2}, "
                         f"got f_min={f_min}, f_max={f_max}")
    bins = np.linspace(0, sr / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins - lo) / (mid - lo)
    down = (hi - bins) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


def melspectrogram(x, sr, n_fft=400, hop_length=None, n_mels=40, f_min=0.0, f_max=None, power=2.0, **kw):
    """Mel spectrum ``(…, frames, n_mels)``: the spectrogram's bins summed through :func:`mel_filterbank`."""
    fb = mel_filterbank(sr, n_fft, n_mels, f_min, f_max)
    return spectrogram(x, n_fft, hop_length, power=power, **kw) @ fb.T


def power_to_db(s, amin=1e-10, top_db=None):
    """``10 · log10(max(s, amin))``; with ``top_db``, values more than ``top_db`` below the maximum are
    raised to it."""
    db = 10.0 * np.log10(np.maximum(np.asarray(s, dtype=np.float64), amin))
    if top_db is not None:
        db = np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - top_db)
    return db


def dct_matrix(n_out, n_in):
    """Orthonormal DCT-II rows ``D[q, j] = s_q · cos(π q (j + ½) / n_in)``, ``s_0 = √(1/n_in)``,
    ``s_q = √(2/n_in)``."""
    q = np.arange(n_out)[:, None]
    j = np.arange(n_in)[None, :]
    d = np.cos(np.pi * q * (j + 0.5) / n_in) * np.sqrt(2.0 / n_in)
    d[0] /= np.sqrt(2.0)
    return d


def mfcc(x, sr, n_mfcc=13, n_fft=400, hop_length=None, n_mels=40, **kw):
    """Mel-frequency cepstral coefficients ``(…, frames, n_mfcc)``: the DCT-II of the log-mel spectrum."""
    if n_mfcc > n_mels:
        raise ValueError(f"audio.mfcc: n_mfcc ({n_mfcc}) cannot exceed n_mels ({n_mels})")
    logmel = power_to_db(melspectrogram(x, sr, n_fft, hop_length, n_mels, **kw))
    return logmel @ dct_matrix(n_mfcc, n_mels).T


def read_wav(path, max_bytes=64 << 20):
    """``(samples float64 in [-1, 1], sample_rate)`` of a PCM WAV file (8/16/32-bit; channels averaged)."""
    import os
    import wave

    if os.path.getsize(path) > max_bytes:
        raise ValueError(f"{path}: WAV file larger than max_bytes={max_bytes}")
    try:
        with wave.open(os.fspath(path), "rb") as f:
            sr, width, channels, n = f.getframerate(), f.getsampwidth(), f.getnchannels(), f.getnframes()
            raw = f.readframes(n)
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: not a PCM WAV file ({exc})") from None
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}.get(width)
    if dtype is None:
        raise ValueError(f"{path}: {8 * width}-bit samples are not supported (8, 16 or 32-bit PCM)")
    a = np.frombuffer(raw, dtype=dtype).astype(np.float64)
    a = (a - 128.0) / 128.0 if width == 1 else a / float(np.iinfo(dtype).max + 1)
    return a.reshape(-1, channels).mean(axis=1), sr
