"""Conversations through the real kernel paths: the PTT line pulled on the gpio-sim chip,
speech played into the snd-aloop card, the fake Realtime server on the host, the answer
recorded from the card's other side, the LED lines read back."""
import array
import time

from audio import best_correlation, envelope, spoken_fixture
from conftest import MIC, RATE
from hilvm import play_into_mic


def speech_envelope(samples, rate):
    """The envelope from the first to the last loud 10 ms: the words without the padding."""
    env = envelope(samples, rate)
    loud = [i for i, x in enumerate(env) if x > 300]
    return env[loud[0]:loud[-1] + 1]


def test_a_spoken_turn_reaches_the_backend_intact_and_its_answer_the_speaker(parleyd, gpio, speaker, host, tmp_path,
                                                                             measured, judged):
    said = spoken_fixture(tmp_path / "said.raw", "Check the compressor on unit nine.", rate=RATE, lead=0.2, tail=0.4)
    words = speech_envelope(said, RATE)
    d = parleyd()

    def turn():
        gpio.wait_lit({"ready"}, timeout=30)  # a voided try's answer has ended
        before, _ = host.committed()
        speaker.audio.clear()
        t_press = gpio.press()
        try:
            gpio.wait_lit({"listen"})
            assert host.event_after("input_audio_buffer.append", t_press) - t_press < 1.0
            play_into_mic(tmp_path / "said.raw", MIC).wait(timeout=30)
            speaker.recording = True
        finally:
            t_release = gpio.release()
        host.event_after("input_audio_buffer.commit", t_release)
        count, heard = host.committed()
        assert count == before + 1

        # What the server heard is what was played into the card (24 kHz after parleyd's DSP).
        correlation, _ = best_correlation(words, envelope(array.array("h", heard), 24000))
        measured["speech_in_envelope_correlation"] = round(correlation, 3)
        assert correlation > 0.9, f"the words arrived changed (envelope correlation {correlation:.3f})"

        # The fake speaks the turn back: it comes out of the other side of the card.
        gpio.wait_lit({"speak"}, timeout=10)
        gpio.wait_lit({"ready"}, timeout=20)
        speaker.recording = False
        out = array.array("h", bytes(speaker.audio))
        correlation, _ = best_correlation(words, envelope(out, RATE))
        measured["speech_out_envelope_correlation"] = round(correlation, 3)
        assert correlation > 0.9, f"the answer came out changed (envelope correlation {correlation:.3f})"

    judged("spoken turn", turn)
    assert "session=created turn=idle" in d.log


def test_barge_in_silences_the_answer_at_once_and_cancels_it(parleyd, gpio, speaker, host, measured, judged):
    parleyd()
    host.configure(response_audio_seconds=6.0)

    def barge_in():
        gpio.wait_lit({"ready"}, timeout=30)
        gpio.press()
        gpio.wait_lit({"listen"})
        time.sleep(0.4)
        t_release = gpio.release()
        speaker.first_after(speaker.starts, t_release)
        gpio.wait_lit({"speak"})
        time.sleep(0.5)

        t_press = gpio.press()
        try:
            silent = speaker.first_after(speaker.stops, t_press, timeout=3)
            measured["barge_in_scenario_ms"] = round(1000 * (silent - t_press), 2)
            assert silent - t_press < 0.3, f"the answer went on for {1000 * (silent - t_press):.0f} ms"
            gpio.wait_lit({"listen"})
            cancelled = host.event_after("response.cancel", t_press)
            assert cancelled - t_press < 1.0
            assert "conversation.item.truncate" in host.events_since(t_press)
            time.sleep(1.0)
            assert not [t for t in speaker.starts if t > silent], "the cancelled answer came back"
        finally:
            gpio.release()

    judged("barge-in", barge_in)
