"""``python -m fibo_prompts.emulator [--host H] [--port P] [--config FILE]``.

Prints ``listening on <url>`` (one line, flushed) and serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys

from fibo_prompts.emulator import Emulator, EmulatorConfig


def main(argv: list[str] | None = None) -> None:
    """Run the emulator in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m fibo_prompts.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    config = EmulatorConfig.load(args.config) if args.config else EmulatorConfig()
    emulator = Emulator(config, host=args.host, port=args.port)
    sys.stdout.write(f"listening on {emulator.url}\n")
    sys.stdout.flush()
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
