"""scripts/stack's supervisor and commands without the servers: a process stands in for a server
(started, waited for, stopped, its pid and environment), and what the commands print and refuse.
The servers themselves run in the integration, reliability, fleet and e2e suites."""
import contextlib
import importlib.machinery
import importlib.util
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
loader = importlib.machinery.SourceFileLoader("stack", str(ROOT / "scripts/stack"))
spec = importlib.util.spec_from_loader("stack", loader)
stack = importlib.util.module_from_spec(spec)
loader.exec_module(stack)

PY = sys.executable


class Fake(stack.Server):
    """A server that is ready once its process has written the file `ready` in its folder."""

    name = "fake"
    wait_seconds = 10
    stop_seconds = 5

    def ready(self):
        return (self.dir / "ready").exists()

    def ready_message(self):
        return "fake ready"


def serve(after=0.0, ignore_term=False, exit_at_once=False):
    """A process standing in for a server: ready after `after` seconds."""
    code = ["import os, signal, sys, time"]
    if ignore_term:
        code.append("signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    if exit_at_once:
        code.append("print('bad configuration', flush=True); sys.exit(3)")
    code += [f"time.sleep({after})", "open('ready', 'w').close()", "print('serving', flush=True)",
             "time.sleep(600)"]
    return [PY, "-c", "; ".join(code)]


class StackTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.old_state = stack.STATE
        stack.STATE = Path(self.tmp.name) / "state"
        stack.STATE.mkdir()
        self.addCleanup(setattr, stack, "STATE", self.old_state)
        self.stderr = io.StringIO()
        redirect = contextlib.redirect_stderr(self.stderr)
        redirect.__enter__()
        self.addCleanup(redirect.__exit__, None, None, None)

    def spawn_fake(self, server, argv):
        server.dir.mkdir(parents=True, exist_ok=True)
        # The fake's process writes `ready` in its working folder: the server's.
        old = stack.ROOT
        stack.ROOT = server.dir
        try:
            server.spawn(argv, "server.log")
        finally:
            stack.ROOT = old
        self.addCleanup(self.kill, server.pid())

    @staticmethod
    def kill(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def sleeper(self):
        """A live process whose pid stands in a state folder."""
        p = subprocess.Popen(["sleep", "600"])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        return p.pid


class SupervisorTest(StackTestCase):
    def test_a_server_is_started_in_a_session_of_its_own_and_waited_for(self):
        fake = Fake()
        self.spawn_fake(fake, serve(after=1.0))
        self.assertTrue(fake.alive())
        self.assertTrue(fake.ready())
        self.assertEqual(os.getsid(fake.pid()), fake.pid())  # outlives the command's session
        self.assertIn("stack: fake ready", self.stderr.getvalue())
        self.assertTrue(fake.running_and_ready())
        deadline = time.monotonic() + 5
        while "serving" not in (fake.dir / "server.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("serving", (fake.dir / "server.log").read_text())

    def test_a_server_that_exits_during_start_up_is_named_with_its_log(self):
        fake = Fake()
        with self.assertRaises(stack.StackError) as e:
            self.spawn_fake(fake, serve(exit_at_once=True))
        self.assertEqual(str(e.exception), "fake exited during start-up")
        self.assertIn("bad configuration", self.stderr.getvalue())
        self.assertFalse(fake.alive())  # an exited child is not alive, reaped or not

    def test_a_server_that_never_answers_ends_the_command_after_its_wait(self):
        fake = Fake()
        fake.wait_seconds = 1
        started = time.monotonic()
        with self.assertRaises(stack.StackError) as e:
            self.spawn_fake(fake, serve(after=60))
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn("fake did not answer within 1 s (logs in ", str(e.exception))

    def test_stop_asks_then_kills_and_removes_the_state(self):
        polite = Fake()
        self.spawn_fake(polite, serve())
        pid = polite.pid()
        started = time.monotonic()
        polite.stop()
        self.assertLess(time.monotonic() - started, polite.stop_seconds)
        self.assertFalse(stack.process_alive(pid))
        self.assertFalse(polite.dir.exists())

        stubborn = Fake()
        stubborn.stop_seconds = 1
        self.spawn_fake(stubborn, serve(ignore_term=True))
        pid = stubborn.pid()
        time.sleep(0.3)  # its handler in place
        started = time.monotonic()
        stubborn.stop()
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        self.assertFalse(stack.process_alive(pid))
        self.assertFalse(stubborn.dir.exists())

    def test_a_server_that_is_gone_is_not_waited_for(self):
        fake = Fake()
        fake.dir.mkdir()
        p = subprocess.Popen(["true"])
        p.wait()
        (fake.dir / "pid").write_text(f"{p.pid}\n")
        self.assertFalse(fake.alive())
        self.assertFalse(fake.running_and_ready())
        fake.stop()  # nothing to stop: the state goes
        self.assertFalse(fake.dir.exists())

    def test_one_install_at_a_time_across_processes(self):
        old = stack.CACHE
        stack.CACHE = Path(self.tmp.name) / "cache"
        self.addCleanup(setattr, stack, "CACHE", old)
        probe = [PY, "-c", "import fcntl, sys; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)",
                 str(stack.CACHE / ".install.lock")]
        with stack.InstallLock():
            with stack.InstallLock():  # an install within an install
                self.assertNotEqual(subprocess.run(probe, capture_output=True).returncode, 0)
            self.assertNotEqual(subprocess.run(probe, capture_output=True).returncode, 0)
        self.assertEqual(subprocess.run(probe, capture_output=True).returncode, 0)

    def test_ports_are_drawn_distinct_and_free(self):
        ports = stack.free_ports(16)
        self.assertEqual(len(set(ports)), 16)
        for port in ports:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
        fake = Fake()
        fake.dir.mkdir()
        fake.draw_ports("port", "admin-port")
        self.assertNotEqual(fake.port(), fake.port("admin-port"))


class CommandsTest(StackTestCase):
    def main(self, *argv):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = stack.main(list(argv))
        return status, out.getvalue()

    def fake_running(self, name, **ports):
        d = stack.STATE / name
        d.mkdir(parents=True)
        (d / "pid").write_text(f"{self.sleeper()}\n")
        for file, port in ports.items():
            (d / file.replace("_", "-")).write_text(f"{port}\n")

    def test_components_expand_all_and_refuse_unknown_ones(self):
        self.assertEqual(stack.components([]), ["kafka", "aws", "postgres", "connect", "registry", "prometheus", "tracing"])
        self.assertEqual(stack.components(["aws-iam", "kafka"]), ["aws-iam", "kafka"])
        with self.assertRaises(stack.StackError) as e:
            stack.components(["kafka", "zookeeper"])
        self.assertTrue(str(e.exception).startswith("unknown component 'zookeeper' (kafka|aws|aws-iam|postgres|"))

    def test_env_exports_what_runs_and_nothing_else(self):
        self.assertEqual(self.main("env"), (0, ""))
        self.fake_running("kafka", port=19092)
        self.fake_running("prometheus", port=19090)
        self.fake_running("tracing", otlp_port=14318, query_port=16686)
        status, out = self.main("env")
        self.assertEqual(status, 0)
        lines = out.splitlines()
        self.assertIn("export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092", lines)
        self.assertIn("export PROMETHEUS_URL=http://127.0.0.1:19090", lines)
        self.assertIn("export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:14318", lines)
        self.assertIn("export CDC_TRACING_QUERY_URL=http://127.0.0.1:16686", lines)
        self.assertFalse(any("AWS_ENDPOINT_URL" in line or "PGHOST" in line for line in lines), out)
        # What the shell makes of it: the variables, set.
        shell = subprocess.run(["bash", "-c", 'eval "$0"; echo "$KAFKA_BOOTSTRAP_SERVERS $PROMETHEUS_URL"', out],
                               capture_output=True, text=True, check=True)
        self.assertEqual(shell.stdout.strip(), "127.0.0.1:19092 http://127.0.0.1:19090")

    def test_status_and_pid_say_what_runs(self):
        self.fake_running("aws", port=15000)
        status, out = self.main("status")
        self.assertEqual(status, 0)
        lines = out.splitlines()
        self.assertEqual([line.split(":")[0] for line in lines],
                         ["kafka", "aws-iam", "aws", "postgres", "connect", "registry", "tracing", "prometheus"])
        pid = (stack.STATE / "aws/pid").read_text().strip()
        self.assertIn(f"aws: moto on http://127.0.0.1:15000 (pid {pid})", lines)
        self.assertIn("kafka: stopped", lines)
        self.assertEqual(self.main("pid", "aws"), (0, pid + "\n"))
        with self.assertRaises(stack.StackError) as e:
            self.main("pid", "kafka")
        self.assertEqual(str(e.exception), "kafka is not running")
        with self.assertRaises(stack.StackError):
            self.main("pid", "zookeeper")

    def test_down_stops_every_server_and_removes_the_state(self):
        self.fake_running("kafka", port=19092)
        self.fake_running("aws", port=15000)
        pids = [int((stack.STATE / n / "pid").read_text()) for n in ("kafka", "aws")]
        self.assertEqual(self.main("down"), (0, ""))
        for pid in pids:
            deadline = time.monotonic() + 5
            while stack.process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertFalse(stack.process_alive(pid))
        self.assertFalse(stack.STATE.exists())

    def test_a_command_without_its_arguments_says_how(self):
        status, out = self.main()
        self.assertEqual((status, out), (2, ""))
        self.assertIn("scripts/stack up [kafka|aws|", self.stderr.getvalue())
        for argv, usage in ((["scrape"], "usage: scripts/stack scrape NAME [HOST:PORT]"),
                            (["connector"], "usage: scripts/stack connector FILE [PREFIX [DATABASE]]"),
                            (["connector-delete"], "usage: scripts/stack connector-delete NAME")):
            with self.assertRaises(stack.StackError) as e:
                self.main(*argv)
            self.assertEqual(str(e.exception), usage)

    def test_scrape_writes_and_removes_a_target_of_prometheus(self):
        with self.assertRaises(stack.StackError) as e:
            self.main("scrape", "inventory", "127.0.0.1:9000")
        self.assertEqual(str(e.exception), "prometheus is not running (scripts/stack up prometheus)")
        (stack.STATE / "prometheus/targets").mkdir(parents=True)
        self.main("scrape", "inventory-service", "127.0.0.1:9000")
        target = stack.STATE / "prometheus/targets/inventory-service.json"
        self.assertEqual(json.loads(target.read_text()), [{"targets": ["127.0.0.1:9000"], "labels": {"app": "inventory-service"}}])
        self.assertEqual(sorted(p.name for p in target.parent.iterdir()), ["inventory-service.json"])  # no temporary left
        self.main("scrape", "inventory-service")
        self.assertFalse(target.exists())
        with self.assertRaises(stack.StackError):
            self.main("scrape", "../etc", "127.0.0.1:9000")

    def test_a_connector_gets_the_stacks_database_and_a_slot_of_its_own(self):
        spec = json.loads((ROOT / "deploy/debezium/production.json").read_text())
        name, config = stack.connector_config(spec, "Shop-2", 15432, "ecommerce", "", "")
        self.assertEqual(name, spec["name"] + "-Shop-2")
        self.assertEqual(config["topic.prefix"], "Shop-2")
        self.assertEqual((config["slot.name"], config["publication.name"]), ("cdc_shop_2", "cdc_shop_2"))
        self.assertEqual((config["database.hostname"], config["database.port"]), ("127.0.0.1", "15432"))
        self.assertEqual(spec["config"]["topic.prefix"], json.loads((ROOT / "deploy/debezium/production.json").read_text())[
            "config"]["topic.prefix"])  # the file's own left as it was
        name, config = stack.connector_config(spec, "", 15432, "other", "", "")
        self.assertEqual(config["topic.prefix"], spec["config"]["topic.prefix"])
        self.assertEqual(config["database.dbname"], "other")

        avro = json.loads((ROOT / "deploy/debezium/avro.json").read_text())
        with self.assertRaises(stack.StackError) as e:
            stack.connector_config(avro, "", 15432, "ecommerce", "", "")
        self.assertEqual(str(e.exception), "this configuration needs the schema registry: scripts/stack up registry")
        credentials = Path(self.tmp.name) / "credentials"
        credentials.write_text("cdc:s3cret:x\n")
        _, config = stack.connector_config(avro, "", 15432, "ecommerce", "http://127.0.0.1:8081/apis/registry/v2", credentials)
        self.assertEqual(config["value.converter.apicurio.registry.url"], "http://127.0.0.1:8081/apis/registry/v2")
        self.assertEqual(config["value.converter.apicurio.auth.username"], "cdc")
        self.assertEqual(config["value.converter.apicurio.auth.password"], "s3cret:x")

    def test_a_connector_needs_a_file_and_a_running_worker(self):
        with self.assertRaises(stack.StackError) as e:
            self.main("connector", "deploy/debezium/nothing.json")
        self.assertEqual(str(e.exception), "no connector configuration 'deploy/debezium/nothing.json'")
        with self.assertRaises(stack.StackError) as e:
            self.main("connector", "deploy/debezium/production.json")
        self.assertEqual(str(e.exception), "kafka connect is not running (scripts/stack up connect)")


class ProgramTest(unittest.TestCase):
    def test_the_program_exits_1_naming_the_problem(self):
        with tempfile.TemporaryDirectory() as state:
            r = subprocess.run([str(ROOT / "scripts/stack"), "pid", "kafka"], capture_output=True, text=True,
                               env={**os.environ, "STACK_DIR": state})
        self.assertEqual((r.returncode, r.stdout, r.stderr), (1, "", "stack: kafka is not running\n"))
        r = subprocess.run([str(ROOT / "scripts/stack"), "launch"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("scripts/stack down", r.stderr)


if __name__ == "__main__":
    unittest.main()
