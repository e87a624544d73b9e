"""Brand templates: the shipped ones, variables, loops, extends, edits, and every error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fibo_prompts.brand import (
    AppliedChange,
    BrandKit,
    TemplateVariable,
    builtin_templates_dir,
    lint,
    list_templates,
    load_template,
)
from fibo_prompts.errors import (
    FileAccessError,
    MissingVariablesError,
    TemplateError,
    TemplateNotFoundError,
    TemplateSecurityError,
)
from fibo_prompts.prompt import StructuredPrompt

ROOT = Path(__file__).resolve().parents[2]
KITS = {
    "northwind": BrandKit.load(ROOT / "templates" / "brands" / "northwind.yaml"),
    "sprout_lab": BrandKit.load(ROOT / "templates" / "brands" / "sprout_lab.yaml"),
}
NORTHWIND = KITS["northwind"]

#: Realistic variables per kit and build template (the kits require their own products).
SAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "northwind": {
        "product_hero": {
            "product": "a 250 g kraft-paper bag of house-blend coffee beans",
            "detail": "a few roasted beans scattered beside it",
            "surface": "a light oak table",
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
    },
    "sprout_lab": {
        "product_hero": {"product": "a pouch of crunchy veggie puffs"},
        "lifestyle_person": {
            "person": "a boy of about eight with a big grin",
            "activity": "sharing a snack with a friend",
            "product": "a fruit snack bar",
        },
        "social_post": {"headline": "Crunch Time!", "product": "a box of veggie crackers"},
        "flat_lay": {
            "products": [
                "a pouch of veggie puffs",
                "a box of crackers",
                "a fruit snack bar",
                "a bag of lentil chips",
            ]
        },
    },
}
BUILD = ["flat_lay", "lifestyle_person", "product_hero", "social_post"]
SEASONS = ["winter", "spring", "summer", "autumn"]


def write(directory: Path, name: str, body: str, header: str | None = None) -> Path:
    """A template file ``name.yaml.j2`` with a build header (or ``header``) and ``body``."""
    head = header or f"{{#-\nname: {name}\ndescription: test\nkind: build\n-#}}\n"
    path = directory / f"{name}.yaml.j2"
    path.write_text(head + body, encoding="utf-8")
    return path


def render(path: Path, variables: dict[str, Any] | None = None) -> StructuredPrompt:
    return load_template(path).render(NORTHWIND, variables or {})


def error(path: Path, variables: dict[str, Any] | None = None) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        render(path, variables)
    return info.value


# ---------------------------------------------------------------------- shipped templates


def test_list_templates() -> None:
    assert [(t.name, t.kind) for t in list_templates()] == [
        ("flat_lay", "build"),
        ("lifestyle_person", "build"),
        ("product_hero", "build"),
        ("seasonal_variant", "edit"),
        ("social_post", "build"),
    ]
    assert builtin_templates_dir() == ROOT / "templates"


def test_every_variable_is_documented() -> None:
    for template in list_templates():
        assert template.description
        for variable in template.variables.values():
            assert variable.description, (template.name, variable.name)
            assert variable.examples or variable.type == "bool", (template.name, variable.name)


@pytest.mark.parametrize("kit_name", sorted(KITS))
@pytest.mark.parametrize("name", BUILD)
def test_shipped_templates_render_on_brand(kit_name: str, name: str) -> None:
    kit = KITS[kit_name]
    prompt = load_template(name).render(kit, SAMPLES[kit_name][name])
    assert not prompt.lenient
    assert prompt.check() == []
    assert lint(prompt, kit) == []
    assert prompt.get("style_medium") == kit.style_medium
    assert prompt.get("aesthetics.color_scheme") == kit.derived_color_scheme()
    for season in SEASONS:
        variant, changes = load_template("seasonal_variant").edit(prompt, kit, {"season": season})
        assert lint(variant, kit) == [], season
        assert [c.path for c in changes] == [
            "short_description",
            "background_setting",
            "lighting.conditions",
            "aesthetics.mood_atmosphere",
            "context",
        ]


@pytest.mark.parametrize("name", BUILD)
def test_header_examples_render(name: str) -> None:
    template = load_template(name)
    values = {n: v.examples[0] for n, v in template.variables.items() if v.examples}
    assert template.render(NORTHWIND, values).get("short_description")


def test_product_hero_output() -> None:
    prompt = load_template("product_hero").render(NORTHWIND, {"product": "a bag of coffee beans"})
    assert prompt.to_dict()["objects"] == [
        {
            "description": "A bag of coffee beans, the hero product.",
            "location": "center",
            "relationship": "The hero product, resting on the surface.",
            "relative_size": "large within frame",
            "shape_and_color": "In espresso brown with copper details",
            "orientation": "upright, facing the camera",
        },
        {
            "description": "A plain tabletop.",
            "location": "bottom foreground",
            "relationship": "The surface the product stands on.",
            "relative_size": "medium",
        },
    ]
    assert prompt.get("lighting") == {
        "conditions": "soft morning window light",
        "direction": "side-lit from left",
        "shadows": "long, soft shadows",
    }
    assert prompt.get("context") == (
        "A product-page and campaign hero image for Northwind Coffee Roasters."
    )
    # dict order is the base template's, which follows FIBO's key order
    assert list(prompt.to_dict()) == [
        "short_description",
        "objects",
        "background_setting",
        "lighting",
        "aesthetics",
        "photographic_characteristics",
        "style_medium",
        "context",
        "artistic_style",
    ]


def test_illustration_kit_has_no_camera() -> None:
    prompt = load_template("product_hero").render(KITS["sprout_lab"], {"product": "a snack bar"})
    assert "photographic_characteristics" not in prompt.to_dict()
    assert prompt.get("artistic_style") == "flat playful vector"


def test_social_post_text_uses_the_typography() -> None:
    variables = {"headline": "Hello", "product": "a mug of coffee"}
    prompt = load_template("social_post").render(NORTHWIND, variables)
    assert prompt.get("text_render") == [
        {
            "text": "Hello",
            "location": "top-center",
            "size": "large within frame",
            "color": "espresso brown",
            "font": "bold condensed serif typeface",
        },
        {
            "text": "Slow down. Brew well.",
            "location": "bottom-center",
            "size": "medium",
            "color": "copper",
            "font": "hand-lettered brush script",
        },
    ]
    without = load_template("social_post").render(NORTHWIND, {**variables, "show_tagline": "no"})
    assert [t["text"] for t in without.get("text_render")] == ["Hello"]


def test_flat_lay_loop_makes_one_object_per_product() -> None:
    products = "a bag of beans, a mug, a kettle, a dripper"
    prompt = load_template("flat_lay").render(NORTHWIND, {"products": products})
    objects = prompt.get("objects")
    assert [o["description"] for o in objects] == [
        "A bag of beans, laid flat.",
        "A mug, laid flat.",
        "A kettle, laid flat.",
        "A dripper, laid flat.",
    ]
    assert [o["location"] for o in objects] == ["top-left", "top-right", "center", "bottom-left"]
    assert {o["relative_size"] for o in objects} == {"small"}
    assert prompt.get("short_description").startswith(
        "A flat lay of a bag of beans, a mug, a kettle and a dripper arranged"
    )
    # the header's min_items/max_items: FIBO's five-object convention, enforced at render
    with pytest.raises(TemplateError, match=r"takes 2 to 5 items, got 6$"):
        load_template("flat_lay").render(NORTHWIND, {"products": list("abcdef")})


def test_the_brand_look_lives_in_the_base(tmp_path: Path) -> None:
    # a kit change reaches every template that extends the base
    data = NORTHWIND.model_dump()
    data["lighting"]["conditions"] = "hard noon sun"
    kit = BrandKit.parse(data)
    for name in BUILD:
        prompt = load_template(name).render(kit, SAMPLES["northwind"][name])
        assert prompt.get("lighting.conditions") == "hard noon sun"
    # a user's template extends the built-in base by name
    path = write(
        tmp_path,
        "mine",
        '{% extends "_base.yaml.j2" %}\n'
        "{% block short_description %}A cup of coffee.{% endblock %}\n"
        "{% block context %}Mine.{% endblock %}\n",
    )
    prompt = render(path)
    assert prompt.get("short_description") == "A cup of coffee."
    assert prompt.get("lighting.direction") == "side-lit from left"


# ---------------------------------------------------------------------- values stay values

INJECTIONS = [
    'a "quoted" mug',
    "it's a mug",
    "{braces} and [brackets]",
    '", "objects": [], "x": "',
    '"}]}',
    "line one\nline two",
    "\n  - description: injected\n    location: center",
    "back\\slash \\n \\u0041",
    "{{ 7*7 }}",
    "{{ brand.__class__ }}",
    "{% raw %}raw{% endraw %}",
    "{% if true %}yes{% endif %}",
    "{# comment #}",
    "key: value",
    "- item",
    "# not a comment",
    "a #hash",
    "&anchor *alias",
    "!!python/object/apply:os.system ['id']",
    "| block",
    "> folded",
    "%YAML 1.2",
    "@at `tick`",
    "---\n...",
    "null",
    "true",
    "3",
    "0x1F",
    "~",
    "",
    "   ",
    "café ☕ 𝄞 日本語 עברית",
    "\t\r\x00\x1f",
    "\u2028\u2029\ufeff",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_value_is_literal_text_in_its_string(value: str) -> None:
    social = load_template("social_post")
    plain = social.render(NORTHWIND, {"headline": "Hello", "product": "a mug of coffee"})
    prompt = social.render(NORTHWIND, {"headline": value, "product": value + " coffee"})
    assert prompt.get("text_render[0].text") == value
    assert prompt.get("objects[0].description") == (
        value[:1].upper() + value[1:] + " coffee, the featured product."
    )
    assert prompt.get("short_description").count(f'"{value}"') == 1
    # the structure is the template's: same keys everywhere, same number of items
    assert _shape(prompt.to_dict()) == _shape(plain.to_dict())


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


def test_list_items_are_literal_too() -> None:
    values = ['a "bag", of beans', "x}\n- description: evil", "{{ 7*7 }}"]
    prompt = load_template("flat_lay").render(NORTHWIND, {"products": values})
    assert [o["description"] for o in prompt.get("objects")] == [
        'A "bag", of beans, laid flat.',
        "X}\n- description: evil, laid flat.",
        "{{ 7*7 }}, laid flat.",
    ]


def test_reserved_characters_are_refused() -> None:
    with pytest.raises(TemplateError) as info:
        load_template("product_hero").render(NORTHWIND, {"product": "a \ue0000\ue001 mug"})
    assert str(info.value) == (
        "templates/product_hero.yaml.j2: variable 'product' (str): text holds a reserved "
        "private-use character (U+E000 to U+E003)"
    )


def test_a_whole_slot_keeps_its_type(tmp_path: Path) -> None:
    header = (
        "{#-\nname: cluster\ndescription: t\nkind: build\nvariables:\n"
        "  n: {type: int, default: 3}\n  label: {type: str, default: '12'}\n-#}\n"
    )
    body = (
        "short_description: {{ label }}\nobjects:\n  - description: beans\n"
        "    location: center\n    relationship: alone\n    number_of_objects: {{ n }}\n"
        "background_setting: '{{ label }}'\nlighting: {conditions: a, direction: b}\n"
        "aesthetics: {composition: a, color_scheme: b, mood_atmosphere: c}\ncontext: x\n"
    )
    path = write(tmp_path, "cluster", body, header)
    prompt = render(path, {"n": "12"})
    assert prompt.get("objects[0].number_of_objects") == 12
    assert prompt.get("short_description") == "12"
    assert prompt.get("background_setting") == "12"


# ---------------------------------------------------------------------- variables


def test_variable_coercion() -> None:
    def var(kind: Any, **extra: Any) -> TemplateVariable:
        return TemplateVariable(name="v", type=kind, **extra)

    assert var("int").coerce(" 3 ") == 3
    assert var("float").coerce("2.5") == 2.5
    assert var("bool").coerce("No") is False
    assert var("bool").coerce("yes") is True
    assert var("list[str]").coerce("a, b ,,c") == ["a", "b", "c"]
    assert var("list[str]").coerce('["a, b", "c"]') == ["a, b", "c"]
    assert var("list[str]").coerce(("x", 2)) == ["x", "2"]
    assert var("str").coerce(7) == "7"
    for kind, value, message in [
        ("int", "three", "expected a whole number, got 'three'"),
        ("int", True, "expected a whole number, got a boolean"),
        ("float", "nan", "expected a finite number, got 'nan'"),
        ("bool", "maybe", "expected true or false, got 'maybe'"),
        ("str", ["a"], "expected text, got a list"),
        ("list[str]", "[1,", "not a JSON list (Expecting value: line 1 column 4 (char 3))"),
        ("list[str]", [["a"]], "expected a list of text, got an item that is a list"),
    ]:
        with pytest.raises(ValueError) as info:
            var(kind).coerce(value)
        assert str(info.value) == message
    with pytest.raises(ValueError) as choice:
        var("str", choices=("winter", "summer")).coerce("wintr")
    assert str(choice.value) == "'wintr' is not one of: winter, summer (did you mean 'winter'?)"


def test_missing_variables() -> None:
    with pytest.raises(MissingVariablesError) as info:
        load_template("lifestyle_person").render(NORTHWIND, {"activity": "reading"})
    assert info.value.names == ["person", "product"]
    assert info.value.template == "templates/lifestyle_person.yaml.j2"
    assert str(info.value) == (
        "templates/lifestyle_person.yaml.j2: missing template variables: 'person', 'product'; "
        "pass --var NAME=VALUE"
    )


def test_misspelt_variable() -> None:
    with pytest.raises(TemplateError) as info:
        load_template("product_hero").render(NORTHWIND, {"prodcut": "a mug"})
    assert str(info.value) == (
        "templates/product_hero.yaml.j2: unknown template variable 'prodcut' (did you mean "
        "'product'?); product_hero takes: product, colors, surface, detail, purpose"
    )


def test_wrong_type() -> None:
    with pytest.raises(TemplateError) as info:
        load_template("social_post").render(
            NORTHWIND, {"headline": "x", "product": "y", "show_tagline": "perhaps"}
        )
    assert str(info.value) == (
        "templates/social_post.yaml.j2: variable 'show_tagline' (bool): expected true or "
        "false, got 'perhaps'"
    )


def test_unknown_template_name() -> None:
    with pytest.raises(TemplateNotFoundError) as info:
        load_template("product_heros")
    assert info.value.available == [
        "flat_lay",
        "lifestyle_person",
        "product_hero",
        "seasonal_variant",
        "social_post",
    ]
    assert str(info.value).startswith("no template named 'product_heros' (available: flat_lay,")


def test_user_directory_comes_first(tmp_path: Path) -> None:
    write(
        tmp_path,
        "product_hero",
        "short_description: mine\nbackground_setting: b\nlighting: {conditions: a, "
        "direction: b}\naesthetics: {composition: a, color_scheme: b, mood_atmosphere: c}\n"
        "context: x\n",
    )
    mine = load_template("product_hero", dirs=[tmp_path])
    assert mine.path == tmp_path / "product_hero.yaml.j2"
    assert [t.name for t in list_templates([tmp_path])].count("product_hero") == 1
    assert load_template("flat_lay", dirs=[tmp_path]).path == ROOT / "templates/flat_lay.yaml.j2"


def test_templates_are_reloaded_when_the_file_changes(tmp_path: Path) -> None:
    body = (
        "short_description: {}\nbackground_setting: b\nlighting: {{conditions: a, direction: b}}"
        "\naesthetics: {{composition: a, color_scheme: b, mood_atmosphere: c}}\ncontext: x\n"
    )
    path = write(tmp_path, "live", body.format("first"))
    assert render(path).get("short_description") == "first"
    write(tmp_path, "live", body.format("second version"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert render(path).get("short_description") == "second version"


# ---------------------------------------------------------------------- template errors

VALID_REST = (
    "background_setting: b\nlighting: {conditions: a, direction: b}\n"
    "aesthetics: {composition: a, color_scheme: b, mood_atmosphere: c}\ncontext: x\n"
)


def test_invalid_prompt_points_at_the_template_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad_type",
        '{% extends "_base.yaml.j2" %}\n'
        "{% block short_description %}hello{% endblock %}\n"
        "{% block objects %}\n"
        "  - description: thing\n"
        "    location: center\n"
        "    relationship: alone\n"
        "    number_of_objects: many\n"
        "{% endblock %}\n"
        "{% block context %}ctx{% endblock %}\n",
    )
    problem = error(path)
    assert (problem.template, problem.line) == (str(path), 12)
    assert str(problem) == (
        f"{path}:12: the template renders an invalid structured prompt:\n"
        f'  {path}:12: objects[0].number_of_objects: expected an integer (got "many")'
    )


def test_missing_key_names_the_block_to_add(tmp_path: Path) -> None:
    """The base leaves the block empty: the fix is in the user's template, which is named,
    with the block to add and the base line that leaves it open (issue 15 item 9)."""
    path = write(
        tmp_path,
        "no_context",
        '{% extends "_base.yaml.j2" %}\n{% block short_description %}hi{% endblock %}\n',
    )
    problem = error(path)
    base_lines = (ROOT / "templates" / "_base.yaml.j2").read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(base_lines, 1) if text.startswith("context: {%"))
    assert problem.template == str(path)
    assert problem.line is None
    assert str(problem).endswith(
        f"{path}: context: missing required key; add {{% block context %}}...{{% endblock %}} "
        f"(templates/_base.yaml.j2:{line} leaves it to the template)"
    )


def test_unknown_key_in_the_output(tmp_path: Path) -> None:
    path = write(tmp_path, "typo", "short_description: a\nlightning: x\n" + VALID_REST)
    problem = error(path)
    assert problem.line == 7
    assert "lightning: unknown key; did you mean 'lighting'?" in str(problem)


@pytest.mark.parametrize(
    ("name", "body", "line", "message"),
    [
        (
            "yaml",
            "short_description: hello: world\n" + VALID_REST,
            6,
            "the template renders invalid YAML: mapping values are not allowed in this context",
        ),
        (
            "duplicate",
            "short_description: a\nshort_description: b\n" + VALID_REST,
            7,
            "duplicate key 'short_description'",
        ),
        (
            "alias",
            "short_description: &d a\ncontext_copy: *d\n" + VALID_REST,
            6,
            "YAML anchors and aliases (&name, *name) are not allowed in templates",
        ),
        (
            "date",
            "short_description: 2024-05-01\n" + VALID_REST,
            6,
            "YAML read this as a date; quote it to make it text",
        ),
        (
            "number_key",
            "short_description: a\nphotographic_characteristics:\n  1: x\n" + VALID_REST,
            8,
            "a key must be text, not a number; quote it",
        ),
        (
            "not_a_mapping",
            "- a\n- b\n",
            6,
            "a build template renders a YAML mapping of prompt fields",
        ),
    ],
)
def test_output_errors(tmp_path: Path, name: str, body: str, line: int, message: str) -> None:
    path = write(tmp_path, name, body)
    problem = error(path)
    assert (problem.template, problem.line, problem.message) == (str(path), line, message)


@pytest.mark.parametrize(
    ("body", "variables", "line", "message"),
    [
        (
            "short_description: {{ items }}\n",
            {"items": "a,b"},
            6,
            "an expression rendered a list; loop over it or write it with |join(', ')",
        ),
        (
            "short_description: x\n{{ label }}: y\n",
            {"label": "context"},
            7,
            "a variable cannot name a key: the template alone decides the structure",
        ),
        (
            "short_description: {{ brand }}\n",
            {},
            6,
            "an expression rendered a mapping; write one of its fields",
        ),
        (
            "short_description: {{ brand.photographic.nope }}\n",
            {},
            6,
            "'dict object' has no attribute 'nope'",
        ),
        (
            "short_description: {{ brand.pallete }}\n",
            {},
            6,
            "'dict object' has no attribute 'pallete' (did you mean 'palette'?)",
        ),
        (
            "short_description: {{ none_value }}\n",
            {},
            6,
            "an expression rendered nothing (None); write text, or guard it with {% if %}",
        ),
        (
            "short_description: {{ 1 / 0 }}\n",
            {},
            6,
            "ZeroDivisionError: division by zero",
        ),
    ],
)
def test_render_errors(
    tmp_path: Path, body: str, variables: dict[str, Any], line: int, message: str
) -> None:
    header = (
        "{#-\nname: t\ndescription: t\nkind: build\nvariables:\n"
        "  items: {type: 'list[str]', default: []}\n  label: {type: str, default: x}\n"
        "  none_value: {type: str, default: null}\n-#}\n"
    )
    path = write(tmp_path, "t", body, header=header.replace("\n-#}", "").rstrip() + "\n-#}\n")
    problem = error(path, variables)
    assert (problem.template, problem.line - 4, problem.message) == (str(path), line, message)


def test_undefined_name_in_a_loaded_template(tmp_path: Path) -> None:
    header = "{#-\nname: u\ndescription: t\nkind: build\nvariables:\n  product: {}\n-#}\n"
    path = write(tmp_path, "u", "short_description: {{ prodcut }}\n", header)
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert str(info.value) == (
        f"{path}:8: uses 'prodcut', which the header does not declare (did you mean "
        "'product'?); add it under 'variables'"
    )


@pytest.mark.parametrize(
    ("header", "line", "message"),
    [
        ("short_description: x\n", 1, "header: a template starts with a {# ... #} comment"),
        ("{#-\nname: x\n", 1, "header: the header comment is never closed with #}"),
        (
            "{#-\nname: x\ndescription: d\nkind: build\nvariabels: {}\n-#}\n",
            5,
            "header: unknown key 'variabels' (did you mean 'variables'?)",
        ),
        (
            "{#-\nname: x\ndescription: d\nkind: make\n-#}\n",
            4,
            "header: kind 'make' is not one of: build, edit, base",
        ),
        (
            "{#-\nname: x y\ndescription: d\nkind: build\n-#}\n",
            2,
            "header: name 'x y' may hold only",
        ),
        ("{#-\nname: x\nkind: build\n-#}\n", 1, "header: 'description' is required"),
        (
            "{#-\nname: x\ndescription: d\nkind: build\nvariables:\n  n: {type: integer}\n-#}\n",
            6,
            "header: variable 'n': type 'integer' is not one of: str, int, float, bool, list[str]",
        ),
        (
            "{#-\nname: x\ndescription: d\nkind: build\nvariables:\n  brand: {}\n-#}\n",
            6,
            "header: variable 'brand': this name is reserved",
        ),
        (
            "{#-\nname: x\ndescription: d\nkind: build\nvariables:\n  n: {required: true, "
            "default: 1}\n-#}\n",
            6,
            "header: variable 'n': a required variable cannot have a default",
        ),
        (
            "{#-\nname: x\ndescription: d\nkind: build\nvariables:\n  n: {type: int, "
            "examples: [two]}\n-#}\n",
            6,
            "header: variable 'n': expected a whole number, got 'two'",
        ),
        ("{#-\nname: [x\n-#}\n", 3, "header: not valid YAML"),
    ],
)
def test_header_errors(tmp_path: Path, header: str, line: int, message: str) -> None:
    path = tmp_path / "h.yaml.j2"
    path.write_text(header, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert (info.value.template, info.value.line) == (str(path), line)
    assert info.value.message.startswith(message)


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("{% filter upper %}short_description: x{% endfilter %}\n", 6, "{% filter %} blocks"),
        ("{% macro m() %}x{% endmacro %}{% call m() %}y{% endcall %}\n", 6, "{% call %} blocks"),
        ('{% extends "_nope.yaml.j2" %}\n', 6, "no template '_nope.yaml.j2' in "),
        (
            "{% extends brand.name %}\n",
            6,
            "the name of an extended or included template must be a literal string",
        ),
        ("{% if %}\n", 6, "Expected an expression, got 'end of statement block'"),
        ("{{ x \n", 6, "unexpected end of template"),
    ],
)
def test_load_errors(tmp_path: Path, body: str, line: int, message: str) -> None:
    path = write(tmp_path, "t", body)
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert (info.value.template, info.value.line) == (str(path), line)
    assert info.value.message.startswith(message), info.value.message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml.j2"
    path.write_bytes(b"{#-\nname: latin\ndescription: caf\xe9\nkind: build\n-#}\n")
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert str(info.value) == (
        f"{path}:3: not UTF-8 (byte 0xe9 at offset 32); save the template as UTF-8"
    )


def test_missing_template_file(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError):
        load_template(tmp_path / "gone.yaml.j2")


def test_extend_cycle(tmp_path: Path) -> None:
    base_header = "{#-\nname: {n}\ndescription: t\nkind: base\n-#}\n"
    (tmp_path / "_a.yaml.j2").write_text(
        base_header.replace("{n}", "_a") + '{% extends "_b.yaml.j2" %}\n', encoding="utf-8"
    )
    (tmp_path / "_b.yaml.j2").write_text(
        base_header.replace("{n}", "_b") + '{% extends "_a.yaml.j2" %}\n', encoding="utf-8"
    )
    with pytest.raises(TemplateError) as info:
        load_template(tmp_path / "_a.yaml.j2")
    assert info.value.message == "templates extend or include each other in a cycle"


def test_base_and_kind_misuse(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as base:
        load_template(builtin_templates_dir() / "_base.yaml.j2").render(NORTHWIND)
    assert base.value.message == "a base template cannot be used on its own; extend it"
    with pytest.raises(TemplateError) as edit:
        load_template("seasonal_variant").render(NORTHWIND, {"season": "winter"})
    assert edit.value.message.startswith("an edit template changes an existing prompt")
    prompt = load_template("product_hero").render(NORTHWIND, {"product": "a mug"})
    with pytest.raises(TemplateError) as build:
        load_template("product_hero").edit(prompt, NORTHWIND, {"product": "a mug"})
    assert build.value.message == "a build template makes a whole prompt: use render(kit, ...)"


# ---------------------------------------------------------------------- sandbox

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ [].__class__ }}",
    "{{ brand.__class__ }}",
    "{{ brand['__class__'] }}",
    "{{ brand.name.__class__.__base__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ brand|attr('__init__') }}",
    "{{ '{0.__class__}'.format(brand) }}",
    "{{ '{x.__class__}'.format_map({'x': brand}) }}",
    "{{ '%s'|format(brand.__class__) }}",
    "{{ self.__init__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ range.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ dict.mro()[1].__subclasses__() }}",
    "{{ ''.join.__self__ }}",
    "{{ brand.get.__self__ }}",
    "{{ brand.palette.__getitem__(0) }}",
    "{{ brand.palette.append(1) }}",
    "{{ brand.update({}) }}",
    "{% set x = brand.mood.pop() %}",
    "{{ 'a' * 1000000 }}",
    "{{ 10 ** 1000 }}",
    "{% for i in range(10000000) %}{% endfor %}",
]
GADGETS = [
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__.__builtins__ }}",
]


@pytest.mark.parametrize("attempt", ESCAPES)
def test_sandbox_escapes_are_security_errors(tmp_path: Path, attempt: str) -> None:
    path = write(tmp_path, "escape", f"short_description: x\ncontext: {attempt}\n")
    with pytest.raises(TemplateSecurityError) as info:
        render(path)
    assert (info.value.template, info.value.line) == (str(path), 7)
    assert info.value.message.startswith("blocked by the sandbox: ")


@pytest.mark.parametrize("attempt", GADGETS)
def test_escape_gadgets_are_refused_on_load(tmp_path: Path, attempt: str) -> None:
    path = write(tmp_path, "gadget", f"short_description: x\ncontext: {attempt}\n")
    with pytest.raises(TemplateSecurityError) as info:
        load_template(path)
    assert info.value.line == 7
    assert "a known route out of Jinja sandboxes" in info.value.message


def test_random_is_not_available(tmp_path: Path) -> None:
    path = write(tmp_path, "rnd", "short_description: {{ [1, 2]|random }}\n" + VALID_REST)
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert info.value.message == "No filter named 'random'."


# ---------------------------------------------------------------------- edit templates


def test_seasonal_edit_keeps_every_other_byte() -> None:
    base = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
    variant, changes = load_template("seasonal_variant").edit(base, NORTHWIND, {"season": "autumn"})
    assert changes[2] == AppliedChange(
        path="lighting.conditions",
        before="soft studio lighting",
        after="warm, low autumn afternoon light",
    )
    assert variant.get("background_setting").endswith(
        " With a few fallen leaves and a wool blanket in the background."
    )
    # undo each change: the exact original bytes come back
    restored = variant
    for change in changes:
        restored = restored.set(change.path, change.before)
    assert restored.wire == base.wire
    assert variant.wire.count("\n") == base.wire.count("\n")


def test_edit_template_features(tmp_path: Path) -> None:
    header = (
        "{#-\nname: e\ndescription: t\nkind: edit\nvariables:\n  index: {type: int, default: 1}\n"
        "  where: {type: str, default: top-left}\n-#}\n"
    )
    path = write(
        tmp_path,
        "e",
        "objects[{{ index }}].location: {{ where }}\n"
        "photographic_characteristics: null\n"
        "text_render: null\n"
        "artistic_style: {{ base.artistic_style }}\n",
        header,
    )
    base = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
    edited, changes = load_template(path).edit(base, NORTHWIND)
    assert changes == [
        AppliedChange("objects[1].location", "bottom foreground", "top-left"),
        AppliedChange(
            "photographic_characteristics",
            base.get("photographic_characteristics"),
            None,
        ),
    ]
    assert "photographic_characteristics" not in edited.to_dict()


@pytest.mark.parametrize(
    ("body", "variables", "message"),
    [
        (
            "objects[{{ where }}].location: x\n",
            {},
            "only a whole number (a list index) may be written into a path; the template "
            "alone decides which fields change",
        ),
        ("objects[x.location: y\n", {}, "objects[x.location: malformed path at column 8"),
        (
            "objects[0].number_of_objects: many\n",
            {},
            'cannot apply objects[0].number_of_objects: expected an integer (got "many")',
        ),
        (
            "objects[7].location: x\n",
            {},
            "cannot apply objects[7].location: objects has 2 items; use an index from 0 to 1",
        ),
        ("- a\n", {}, "an edit template renders a YAML mapping of path: value"),
    ],
)
def test_edit_errors(tmp_path: Path, body: str, variables: dict[str, Any], message: str) -> None:
    header = (
        "{#-\nname: e\ndescription: t\nkind: edit\nvariables:\n"
        "  where: {type: str, default: top}\n-#}\n"
    )
    path = write(tmp_path, "e", "\n" + body, header)
    base = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
    with pytest.raises(TemplateError) as info:
        load_template(path).edit(base, NORTHWIND, variables)
    assert (info.value.template, info.value.line) == (str(path), 9)
    assert info.value.message.startswith(message), info.value.message


def test_empty_edit_changes_nothing(tmp_path: Path) -> None:
    header = "{#-\nname: e\ndescription: t\nkind: edit\n-#}\n"
    path = write(tmp_path, "e", "{# nothing #}\n", header)
    base = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
    assert load_template(path).edit(base, NORTHWIND) == (base, [])


_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\ue000\ue001\ue002\ue003"
    ),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(headline=_TEXT, product=_TEXT)
def test_any_text_stays_inside_its_string(headline: str, product: str) -> None:
    social = load_template("social_post")
    prompt = social.render(NORTHWIND, {"headline": headline, "product": product})
    assert prompt.get("text_render[0].text") == headline
    assert prompt.get("objects[0].description") == (
        product[:1].upper() + product[1:] + ", the featured product."
    )
    assert [list(o) for o in prompt.get("objects")] == [
        [
            "description",
            "location",
            "relationship",
            "relative_size",
            "shape_and_color",
            "orientation",
        ]
    ]
    assert len(prompt.get("text_render")) == 2


def test_load_by_file_name_or_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    by_file = load_template("product_hero.yaml.j2")
    assert by_file is load_template(ROOT / "templates" / "product_hero.yaml.j2")
    assert by_file.source == str(ROOT / "templates" / "product_hero.yaml.j2")
