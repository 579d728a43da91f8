import numpy as np
import pytest

from shendu.data import audio

SR = 8000


def _tone(f=440.0, seconds=0.25):
    t = np.arange(int(SR * seconds)) / SR
    return np.sin(2 * np.pi * f * t)


def test_stft_matches_torch(reference):
    x = np.random.default_rng(0).standard_normal(1000)
    ref = reference(lambda torch: {"re": torch.view_as_real(torch.stft(
        torch.tensor(x), 256, 64, window=torch.hann_window(256, dtype=torch.float64), center=True,
        pad_mode="reflect", return_complex=True)).numpy()})
    got = audio.stft(x, n_fft=256, hop_length=64)
    np.testing.assert_allclose(got.real, ref["re"][..., 0].T, atol=1e-9)
    np.testing.assert_allclose(got.imag, ref["re"][..., 1].T, atol=1e-9)


def test_hann_window_matches_torch(reference):
    ref = reference(lambda torch: {"p": torch.hann_window(16, dtype=torch.float64).numpy(),
                                   "s": torch.hann_window(16, periodic=False, dtype=torch.float64).numpy()})
    np.testing.assert_allclose(audio.hann_window(16), ref["p"], atol=1e-12)
    np.testing.assert_allclose(audio.hann_window(16, periodic=False), ref["s"], atol=1e-12)


def test_frame_is_a_strided_view():
    f = audio.frame(np.arange(10), 4, 3)
    assert f.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    with pytest.raises(ValueError, match="shorter than one frame"):
        audio.frame(np.arange(3), 4, 1)


def test_mel_scale_round_trip_and_known_value():
    assert audio.hz_to_mel(1000.0) == pytest.approx(999.99, abs=0.05)   # 1000 Hz ≈ 1000 mel by design
    f = np.array([0.0, 300.0, 4000.0])
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel(f)), f, atol=1e-9)


def test_mel_filters_are_triangles_peaking_at_equal_mel_steps():
    fb = audio.mel_filterbank(SR, 512, n_mels=10)
    assert fb.shape == (10, 257) and fb.min() >= 0 and fb.max() <= 1
    peaks = np.linspace(0, SR / 2, 257)[fb.argmax(axis=1)]
    mels = audio.hz_to_mel(peaks)
    steps = np.diff(mels)
    assert np.all(steps > 0) and steps.std() / steps.mean() < 0.1


def test_a_tone_lands_in_the_filter_that_covers_it():
    s = audio.melspectrogram(_tone(1000.0), SR, n_fft=512, hop_length=128, n_mels=20)
    centers = audio.mel_to_hz(np.linspace(0, audio.hz_to_mel(SR / 2), 22))[1:-1]
    assert abs(centers[s.mean(axis=0).argmax()] - 1000.0) < 200


def test_mfcc_is_the_orthonormal_dct_of_log_mel():
    from scipy.fft import dct

    x = _tone(300.0) + 0.1 * np.random.default_rng(1).standard_normal(2000)
    logmel = audio.power_to_db(audio.melspectrogram(x, SR, n_fft=256, n_mels=24))
    got = audio.mfcc(x, SR, n_mfcc=12, n_fft=256, n_mels=24)
    np.testing.assert_allclose(got, dct(logmel, type=2, norm="ortho", axis=-1)[..., :12], atol=1e-9)
    assert got.shape == (2000 // 64 + 1, 12)


def test_batched_signals_keep_their_batch_axis():
    x = np.stack([_tone(200.0), _tone(900.0)])
    assert audio.mfcc(x, SR, n_fft=256).shape == (2, 2000 // 64 + 1, 13)


def test_read_wav_round_trip(tmp_path):
    import wave

    x = (_tone() * 20000).astype(np.int16)
    with wave.open(str(tmp_path / "t.wav"), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SR)
        f.writeframes(x.tobytes())
    y, sr = audio.read_wav(tmp_path / "t.wav")
    assert sr == SR
    np.testing.assert_allclose(y, x / 32768.0)
    (tmp_path / "bad.wav").write_bytes(b"RIFF....nope")
    with pytest.raises(ValueError, match="bad.wav"):
        audio.read_wav(tmp_path / "bad.wav")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_fft"):
        audio.stft(np.zeros(100), n_fft=0)
    with pytest.raises(ValueError, match="n_mfcc"):
        audio.mfcc(np.zeros(1000), SR, n_mfcc=50, n_mels=40)
    with pytest.raises(ValueError, match="f_max"):
        audio.mel_filterbank(SR, 256, f_max=SR)
