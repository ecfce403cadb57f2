"""audio.lock_memory: pages are locked as they are touched (MCL_ONFAULT), so the daemon stays
its usual size; when the kernel refuses, one warning names the limit and the fix."""
from bench_latency import resident
from parleyd_process import BASE_CONFIG

LOCKED = BASE_CONFIG.replace("[audio]\n", "[audio]\nlock_memory = true\n")


def test_locked_memory_is_what_the_daemon_touched_not_every_stack_and_arena(daemon, tmp_path):
    plain = daemon(config=BASE_CONFIG).start()
    plain.notify.wait_for("READY=1")
    plain_mb = resident(plain.proc.pid)  # in MB, bench's own reading
    plain.stop()
    assert plain_mb["Locked"] == 0

    d = daemon(config=LOCKED).start()
    d.notify.wait_for("READY=1")
    mb = resident(d.proc.pid)
    assert "mlockall failed" not in d.log
    # Locked: the pages in use (its libraries, heap, the audio threads' stacks), and no more
    # than it had resident anyway (mlockall without MCL_ONFAULT took it to 191 MB). Compared
    # with the unlocked daemon's peak: right after READY that one lets go of starting's code
    # (StartupCode), which a locked daemon keeps, and READY races that release.
    assert mb["Locked"] > 5
    assert mb["VmRSS"] < plain_mb["VmHWM"] + 10, (mb, plain_mb)


def test_a_refused_lock_is_said_once_with_the_limit_and_the_fix(daemon, tmp_path):
    # Without CAP_IPC_LOCK and with a 64 KiB memlock limit, mlockall fails; the daemon runs on.
    d = daemon(config=LOCKED, prefix=["prlimit", "--memlock=65536:65536", "setpriv",
                                      "--bounding-set=-ipc_lock", "--inh-caps=-ipc_lock"]).start()
    d.notify.wait_for("READY=1")
    assert d.log.count("mlockall failed") == 1
    line = next(line for line in d.lines if "mlockall failed" in line)
    assert "WARNING" in line and "the memlock limit is 64 KiB" in line and "LimitMEMLOCK=infinity" in line
    assert "CAP_IPC_LOCK" in line
    assert resident(d.proc.pid)["Locked"] == 0
