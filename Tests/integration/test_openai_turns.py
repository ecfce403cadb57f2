"""OpenAI Realtime turns beyond plain push-to-talk, against the validating fake: function
calls (an http tool served by the harness, the built-ins, a tool that times out), toggle
mode, hands-free (server VAD) mode and a long press that cancels."""
import json
import signal
import time

import pytest

from audio import samples_of_wav, spoken_fixture, tone_power
from test_openai_backend import fake, ready, start, wait_for  # noqa: F401 (fixture)
from tool_server import ToolServer


@pytest.fixture
def tools():
    server = ToolServer()
    yield server
    server.close()


def tool_config(url, timeout_ms=5000):
    return (f'\n[tools.http.work_orders]\ndescription = "Open work orders for a site"\nurl = "{url}"\n'
            f'timeout_ms = {timeout_ms}\n'
            """parameters = '{"type":"object","properties":{"status":{"type":"string"}},"required":["status"]}'\n"""
            '[device]\nid = "van-0412"\ntechnician_id = "T-1184"\nsite = "depot-7"\n')


def answered(fake, n):
    return lambda: fake.types().count("response.create") >= n and fake.sent.count("response.done") >= n


def test_http_tool_round_trip(daemon, tmp_path, fake, tools):
    fake.function_call = ("work_orders", '{"status":"open"}')
    d, control = start(daemon, tmp_path, fake, extra="", dropins_extra=tool_config(tools.url()))
    ready(control)
    update = next(e for e in fake.events if e["type"] == "session.update")["session"]
    names = sorted(t["name"] for t in update["tools"])
    assert names == ["device_status", "set_volume", "work_orders"] and update["tool_choice"] == "auto"
    work_orders = next(t for t in update["tools"] if t["name"] == "work_orders")
    assert work_orders["parameters"]["required"] == ["status"]

    control.ctl("say", "which", "orders", "are", "open")
    wait_for(lambda: len(fake.function_outputs) == 1, what="the function's output")
    wait_for(answered(fake, 2), timeout=15, what="the answer after the output")
    # The harness's tool server got the arguments with the device and technician context.
    assert len(tools.requests) == 1
    request = tools.requests[0]
    assert request["path"] == "/tools/work_orders"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"]["arguments"] == {"status": "open"}
    assert request["body"]["device"]["id"] == "van-0412" and request["body"]["device"]["technician_id"] == "T-1184"
    # Its body went back as the output, once (the call is announced twice), then response.create.
    output = fake.function_outputs[0]
    assert json.loads(output["output"]) == tools.answer
    assert output["call_id"] == request["body"]["call_id"]
    types = fake.types()
    create_output = max(i for i, e in enumerate(fake.events) if e["type"] == "conversation.item.create"
                        and e["item"]["type"] == "function_call_output")
    assert types[create_output + 1] == "response.create"
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=15, what="idle after the answer")
    metrics = control.request({"command": "metrics"})["metrics"]
    assert metrics["parley_tool_calls_total"] == 1 and metrics["parley_tool_failures_total"] == 0
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    assert "tool call work_orders" in d.log


def test_builtin_functions_read_status_and_set_the_volume(daemon, tmp_path, fake):
    fake.function_call = ("set_volume", '{"percent": 35}')
    d, control = start(daemon, tmp_path, fake)
    ready(control)
    control.ctl("say", "quieter", "please")
    wait_for(lambda: len(fake.function_outputs) == 1, what="set_volume's output")
    assert json.loads(fake.function_outputs[0]["output"]) == {"volume_percent": 35}
    assert control.status()["audio"]["volumePercent"] == 35
    wait_for(answered(fake, 2), timeout=15, what="the answer")
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=15, what="idle")

    fake.function_call = ("device_status", "{}")
    control.ctl("say", "how", "are", "you")
    wait_for(lambda: len(fake.function_outputs) == 2, what="device_status's output")
    status = json.loads(fake.function_outputs[1]["output"])
    assert status["link"] == "connected" and status["volume_percent"] == 35 and status["backend"] == "openai"
    assert status["microphone_muted"] is False
    # A bad argument is an error output the model can explain, and the turn still ends.
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=15, what="idle")
    fake.function_call = ("set_volume", '{"percent": 250}')
    control.ctl("say", "max", "volume")
    wait_for(lambda: len(fake.function_outputs) == 3, what="the refusal")
    assert "0 to 100" in json.loads(fake.function_outputs[2]["output"])["error"]
    assert control.status()["audio"]["volumePercent"] == 35
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_a_tool_that_times_out_becomes_an_error_output_not_a_hang(daemon, tmp_path, fake):
    slow = ToolServer(delay=3.0)
    try:
        fake.function_call = ("work_orders", '{"status":"open"}')
        d, control = start(daemon, tmp_path, fake, dropins_extra=tool_config(slow.url(), timeout_ms=400))
        ready(control)
        t0 = time.monotonic()
        control.ctl("say", "orders")
        wait_for(lambda: len(fake.function_outputs) == 1, what="the timeout's output")
        assert time.monotonic() - t0 < 2.5
        error = json.loads(fake.function_outputs[0]["output"])["error"]
        assert "no answer within 400 ms" in error, error
        wait_for(answered(fake, 2), timeout=15, what="the answer explaining the failure")
        assert control.request({"command": "metrics"})["metrics"]["parley_tool_failures_total"] == 1
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        assert any("tool work_orders failed" in line for line in d.lines)
    finally:
        slow.close()


def test_toggle_mode_taps_start_and_end_a_turn(daemon, tmp_path, fake):
    mic = tmp_path / "mic.raw"
    spoken_fixture(mic, "Is the breaker tripped?", lead=1.0, tail=4.0)
    d, control = start(daemon, tmp_path, fake, mic, dropins_extra='[ptt]\nmode = "toggle"\n')
    ready(control)
    control.ctl("ptt", "tap")
    wait_for(lambda: control.status()["state"]["turn"] == "listening", what="listening")
    time.sleep(1.5)
    assert control.status()["state"]["turn"] == "listening"  # the tap's release did not end it
    control.ctl("ptt", "tap")
    wait_for(lambda: "response.create" in fake.types(), what="commit and response.create")
    assert fake.types()[fake.types().index("input_audio_buffer.commit") + 1] == "response.create"
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=15, what="answered")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_long_press_cancels_a_toggle_turn(daemon, tmp_path, fake):
    d, control = start(daemon, tmp_path, fake, dropins_extra='[ptt]\nmode = "toggle"\nlong_press_ms = 600\n')
    ready(control)
    control.ctl("ptt", "press")
    wait_for(lambda: control.status()["state"]["turn"] == "listening", what="listening")
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=3, what="cancelled by the long press")
    control.ctl("ptt", "release")
    time.sleep(0.3)
    assert "input_audio_buffer.commit" not in fake.types() and "response.create" not in fake.types()
    assert fake.types()[-1] == "input_audio_buffer.clear"
    d.signal(signal.SIGTERM)
    assert d.wait() == 0


def test_hands_free_mode_lets_the_server_find_the_turn_and_the_button_mutes(daemon, tmp_path, fake):
    mic = tmp_path / "mic.raw"
    said = spoken_fixture(mic, "Read me the pressure on line two.", lead=3.0, tail=12.0)
    d, control = start(daemon, tmp_path, fake, mic, dropins_extra='[ptt]\nmode = "vad"\nvad_kind = "server_vad"\n')
    ready(control)
    update = next(e for e in fake.events if e["type"] == "session.update")["session"]
    detection = update["audio"]["input"]["turn_detection"]
    assert detection["type"] == "server_vad" and detection["interrupt_response"] is True
    # No button: the server hears the words, ends the turn and answers.
    wait_for(lambda: "response.done" in fake.sent, timeout=20, what="a server-detected turn answered")
    assert "input_audio_buffer.commit" not in fake.types()  # the server commits, not Parley
    wait_for(lambda: control.status()["state"]["turn"] == "idle", timeout=15, what="idle after the answer")
    assert control.status()["lastUserTranscript"].startswith("heard ")
    # The button mutes: nothing more leaves the device.
    control.ctl("ptt", "tap")
    wait_for(lambda: control.status()["state"]["muted"], what="muted")
    time.sleep(0.2)
    appends = fake.types().count("input_audio_buffer.append")
    time.sleep(0.5)
    assert fake.types().count("input_audio_buffer.append") == appends
    control.ctl("ptt", "tap")
    wait_for(lambda: fake.types().count("input_audio_buffer.append") > appends, what="unmuted")
    d.signal(signal.SIGTERM)
    assert d.wait() == 0
    out, rate = samples_of_wav(tmp_path / "speaker.wav")
    assert len(out) > rate  # the answer was played
