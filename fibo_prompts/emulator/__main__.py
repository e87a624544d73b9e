"""``python -m fibo_prompts.emulator [--host H] [--port P] [--config FILE] [--log FILE]``.

Prints ``listening on <url>`` (one line, flushed) and serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys

from fibo_prompts.emulator import Emulator, EmulatorConfig


def main(argv: list[str] | None = None) -> None:
    """Run the emulator in the foreground."""
    parser = argparse.ArgumentParser(
        prog="python -m fibo_prompts.emulator",
        epilog="The --config keys are listed by 'fibo emulator --help'.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--config", metavar="FILE", help="a JSON or TOML config file")
    parser.add_argument("--log", metavar="FILE", help="append one line per request to FILE")
    args = parser.parse_args(argv)
    config = EmulatorConfig.load(args.config) if args.config else EmulatorConfig()
    request_log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115
    emulator = Emulator(config, host=args.host, port=args.port, request_log=request_log)
    sys.stdout.write(f"listening on {emulator.url}\n")
    sys.stdout.flush()
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if request_log is not None:
            request_log.close()


if __name__ == "__main__":
    main()
