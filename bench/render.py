"""Benchmark: brand template renders and brand lint, per second (targets from issue 3).

    python bench/render.py

Renders include everything a user waits for: variable checks, the sandboxed Jinja render,
the YAML skeleton (cached by text: renders that take the same branches share one parse),
filling the values in, and strict StructuredPrompt validation. "cold" clears the skeleton
cache before every render, i.e. the cost when every render takes new branches.
Targets: 2,000 renders/s, 5,000 lints/s.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fibo_prompts.brand import BrandKit, Template, lint, load_template  # noqa: E402
from fibo_prompts.prompt import StructuredPrompt  # noqa: E402

RENDER_TARGET = 2_000
LINT_TARGET = 5_000
SECONDS = 1.5

VARIABLES: dict[str, dict[str, Any]] = {
    "product_hero": {
        "product": "a 250 g kraft-paper bag of house-blend coffee beans",
        "detail": "a few roasted beans scattered beside it",
    },
    "lifestyle_person": {
        "person": "a woman in her thirties with short curly hair",
        "activity": "reading a book by the window",
        "product": "a ceramic mug of freshly brewed coffee",
    },
    "social_post": {
        "headline": "New Harvest Blend",
        "product": "a kraft-paper bag of coffee beans",
        "subheadline": "Roasted this week, in small batches",
    },
    "flat_lay": {
        "products": ["a bag of coffee beans", "a ceramic pour-over dripper", "a copper kettle"]
    },
}


def rate(work: Callable[[], object], seconds: float = SECONDS) -> float:
    """Calls per second of ``work``, best of three runs of about ``seconds`` / 3 each."""
    work()  # warm caches and imports
    best = 0.0
    for _ in range(3):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / 3
        while True:
            for _ in range(50):
                work()
            count += 50
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, count / (now - start))
    return best


def verdict(value: float, target: int) -> str:
    return "ok" if value >= target else "BELOW TARGET"


def main() -> int:
    kit = BrandKit.load(ROOT / "templates" / "brands" / "northwind.yaml")
    print(f"python {platform.python_version()} on {platform.machine()}")
    print(f"{'render (validation included)':<44} {'warm/s':>9} {'cold/s':>9}")
    worst = float("inf")
    for name, variables in VARIABLES.items():
        template = load_template(name)
        warm = rate(lambda t=template, v=variables: t.render(kit, v))

        def cold(t: Template = template, v: dict[str, Any] = variables) -> object:
            t._structures.clear()  # the skeleton cache (private): parse YAML every time
            return t.render(kit, v)

        cold_rate = rate(cold)
        worst = min(worst, warm)
        print(f"  {name:<42} {warm:>9,.0f} {cold_rate:>9,.0f}  {verdict(warm, RENDER_TARGET)}")
    hero = load_template("product_hero").render(kit, VARIABLES["product_hero"])
    seasonal = load_template("seasonal_variant")
    edit = rate(lambda: seasonal.edit(hero, kit, {"season": "winter"}))
    print(f"  {'seasonal_variant (edit, 5 paths set)':<42} {edit:>9,.0f}")

    print(f"{'lint':<44} {'lints/s':>9}")
    cases = {
        "examples/product_shot.json (clean)": StructuredPrompt.load(
            ROOT / "examples" / "product_shot.json"
        ),
        "rendered social_post (clean)": load_template("social_post").render(
            kit, VARIABLES["social_post"]
        ),
        "examples/text_render.json (11 findings)": StructuredPrompt.load(
            ROOT / "examples" / "text_render.json"
        ),
    }
    lint_rates = {}
    for label, prompt in cases.items():
        lint_rates[label] = rate(lambda p=prompt: lint(p, kit))
        target = verdict(lint_rates[label], LINT_TARGET)
        print(f"  {label:<42} {lint_rates[label]:>9,.0f}  {target}")
    example = lint_rates["examples/product_shot.json (clean)"]
    print(
        f"summary: renders/s {worst:,.0f} (slowest shipped template, target "
        f"{RENDER_TARGET:,}); lints/s {example:,.0f} (example prompt, target {LINT_TARGET:,})"
    )
    return 0 if worst >= RENDER_TARGET and example >= LINT_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
