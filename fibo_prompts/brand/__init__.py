"""Brand kits, sandboxed Jinja brand templates, and brand lint.

::

    from fibo_prompts.brand import BrandKit, lint, load_template

    kit = BrandKit.load("templates/brands/northwind.yaml")
    prompt = load_template("product_hero").render(kit, {"product": "a bag of coffee beans"})
    assert lint(prompt, kit) == []
"""

from fibo_prompts.brand.apply import apply_brand
from fibo_prompts.brand.kit import (
    BrandKit,
    LightingDefaults,
    LintSettings,
    PaletteColor,
    PhotographicDefaults,
    RequiredElement,
    TypeStyle,
)
from fibo_prompts.brand.lint import RULES, Finding, LintReport, lint
from fibo_prompts.brand.schema import brand_kit_schema, brand_kit_schema_text
from fibo_prompts.brand.templates import (
    AppliedChange,
    RenderLimits,
    Template,
    TemplateVariable,
    builtin_templates_dir,
    list_templates,
    load_template,
)

__all__ = [
    "RULES",
    "AppliedChange",
    "BrandKit",
    "Finding",
    "LightingDefaults",
    "LintReport",
    "LintSettings",
    "PaletteColor",
    "PhotographicDefaults",
    "RenderLimits",
    "RequiredElement",
    "Template",
    "TemplateVariable",
    "TypeStyle",
    "apply_brand",
    "brand_kit_schema",
    "brand_kit_schema_text",
    "builtin_templates_dir",
    "lint",
    "list_templates",
    "load_template",
]
