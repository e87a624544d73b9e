"""Versions, references, lineage, labels, search and archive of the prompt library."""

from __future__ import annotations

import json

import pytest

from fibo_prompts.errors import FiboPromptsError
from fibo_prompts.library import (
    AmbiguousReferenceError,
    InvalidNameError,
    InvalidReferenceError,
    Library,
    LibraryError,
    PromptArchivedError,
    PromptNotFoundError,
    VersionConflictError,
    _versions,
)
from fibo_prompts.prompt import StructuredPrompt
from tests.library.helpers import PORTRAIT, PRODUCT


@pytest.fixture
def lib(any_lib: Library) -> Library:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_lib


def _chain(lib: Library, count: int, name: str = "bottle") -> list[str]:
    prompt = StructuredPrompt.parse(PRODUCT)
    refs = [lib.save(prompt, name, message="first").ref]
    for i in range(1, count):
        prompt = prompt.set("lighting.conditions", f"light {i}")
        refs.append(lib.save(prompt, name, message=f"step {i}").ref)
    return refs


def test_save_stores_exact_wire_canonical_and_metadata(lib: Library) -> None:
    v = lib.save(
        PRODUCT,
        "bottle",
        message="first",
        tags=["b", "a", "a"],
        kit_name="Acme",
        kit_version="2.1",
        template_name="product",
        variables={"product": "bottle", "colour": "red"},
    )
    assert v.created is True
    assert (v.ref, v.number, v.parents, v.tags, v.labels) == ("bottle@1", 1, (), ("a", "b"), ())
    assert v.wire == PRODUCT
    prompt = StructuredPrompt.parse(PRODUCT)
    assert v.version_hash == prompt.wire_hash()
    assert v.content_hash == prompt.content_hash()
    assert v.canonical == prompt.canonical()
    assert (v.author, v.message, v.summary) == ("ada", "first", "initial version")
    assert v.created_at.isoformat() == "2026-01-02T03:04:05+00:00"
    assert (v.kit_name, v.kit_version, v.template_name) == ("Acme", "2.1", "product")
    assert v.template_variables == {"colour": "red", "product": "bottle"}
    assert lib.get("bottle") == v
    assert lib.get("bottle").created is False


def test_saving_identical_bytes_is_a_no_op(lib: Library) -> None:
    first = lib.save(PRODUCT, "bottle", message="first")
    again = lib.save(PRODUCT, "bottle", message="again", tags=["x"])
    assert (again.created, again.ref, again.message, again.tags) == (False, "bottle@1", "first", ())
    assert again.version_hash == first.version_hash
    assert [e.ref for e in lib.log("bottle")] == ["bottle@1"]


def test_an_older_versions_bytes_are_also_a_no_op(lib: Library) -> None:
    refs = _chain(lib, 3)
    assert lib.save(PRODUCT, "bottle").ref == "bottle@1"
    assert lib.get("bottle").ref == refs[-1]


def test_same_content_other_wire_style_is_a_new_version(lib: Library) -> None:
    pretty = lib.save(PRODUCT, "bottle")
    compact = StructuredPrompt.parse(PRODUCT).to_json("compact")
    v2 = lib.save(compact, "bottle")
    assert v2.created and v2.number == 2
    assert v2.content_hash == pretty.content_hash
    assert v2.version_hash != pretty.version_hash
    assert v2.wire == compact
    assert v2.summary == "same content, wire style changed"
    siblings = lib.search(content_hash=pretty.content_hash)
    assert [s.ref for s in siblings] == ["bottle@2", "bottle@1"]


def test_linear_lineage_and_log_summaries(lib: Library) -> None:
    _chain(lib, 3)
    entries = lib.log("bottle")
    assert [(e.ref, e.parents, e.summary, e.message) for e in entries] == [
        ("bottle@3", ("bottle@2",), "1 change: lighting (1)", "step 2"),
        ("bottle@2", ("bottle@1",), "1 change: lighting (1)", "step 1"),
        ("bottle@1", (), "initial version", "first"),
    ]
    assert [e.ref for e in lib.log("bottle@2")] == ["bottle@2", "bottle@1"]
    assert [e.ref for e in lib.log("bottle", limit=1)] == ["bottle@3"]


def test_branch_merge_and_fork(lib: Library) -> None:
    _chain(lib, 3)
    base = lib.get("bottle@1").prompt
    side = lib.branch(base.set("context", "Outdoor scene."), "bottle", parent="bottle@1")
    assert (side.ref, side.parents) == ("bottle@4", ("bottle@1",))
    assert [e.ref for e in lib.log("bottle")] == ["bottle@4", "bottle@1"]
    assert [e.ref for e in lib.log("bottle", all_versions=True)] == [
        "bottle@4",
        "bottle@3",
        "bottle@2",
        "bottle@1",
    ]
    merged = lib.save(
        side.prompt.set("lighting.conditions", "light 2"),
        "bottle",
        parents=["bottle@4", "bottle@3"],
    )
    assert merged.parents == ("bottle@4", "bottle@3")
    assert [e.ref for e in lib.log(merged)] == [
        "bottle@5",
        "bottle@4",
        "bottle@3",
        "bottle@2",
        "bottle@1",
    ]
    fork = lib.branch(base.set("context", "Winter."), "bottle-winter", parent="bottle@1")
    assert (fork.ref, fork.parents) == ("bottle-winter@1", ("bottle@1",))
    assert [e.ref for e in lib.log("bottle-winter")] == ["bottle-winter@1", "bottle@1"]
    root = lib.save(PORTRAIT, "bottle", parents=[])
    assert (root.parents, root.summary) == ((), "initial version")


def test_references(lib: Library) -> None:
    refs = _chain(lib, 3)
    v2 = lib.get("bottle@2")
    lib.set_label("bottle@2", "production")
    hex_part = v2.version_hash.removeprefix("sha256:")
    assert lib.resolve("bottle") == lib.resolve("bottle@latest") == refs[-1]
    assert lib.resolve("bottle@production") == "bottle@2"
    assert lib.resolve("sha256:" + hex_part[:8]) == "bottle@2"
    assert lib.resolve("bottle@sha256:" + hex_part[:8].upper()) == "bottle@2"
    assert lib.resolve("BOTTLE@2") == "bottle@2"
    assert lib.get(v2).ref == "bottle@2"
    assert lib.exists("bottle@3") and not lib.exists("bottle@4")


@pytest.mark.parametrize(
    ("ref", "error", "message"),
    [
        ("nope", PromptNotFoundError, "'nope' matches nothing: no prompt named 'nope'"),
        ("bottle@9", PromptNotFoundError, "'bottle@9' matches nothing: bottle has versions 1 to 3"),
        (
            "bottle@staging",
            PromptNotFoundError,
            "'bottle@staging' matches nothing: bottle has no label 'staging' (labels: production)",
        ),
        ("sha256:ffffffffff", PromptNotFoundError, "no version has this hash prefix"),
        ("bottle@", InvalidReferenceError, "nothing after '@'"),
        ("bottle@0", InvalidReferenceError, "version numbers start at 1"),
        ("bottle@Prod!", InvalidReferenceError, "neither a version number, a label nor"),
        ("sha256:12", InvalidReferenceError, "needs 4 to 64 hexadecimal digits"),
        ("a/b@1", InvalidNameError, "path separators"),
    ],
)
def test_references_that_match_nothing_say_so(
    lib: Library, ref: str, error: type[Exception], message: str
) -> None:
    _chain(lib, 3)
    lib.set_label("bottle@3", "production")
    with pytest.raises(error) as info:
        lib.get(ref)
    assert message in str(info.value)
    assert isinstance(info.value, FiboPromptsError)


def test_an_ambiguous_hash_prefix_says_which_versions(lib: Library) -> None:
    lib.save(PRODUCT, "a")
    lib.save(PRODUCT, "b")  # same bytes under two names: the same hash twice
    prefix = StructuredPrompt.parse(PRODUCT).wire_hash()[:15]
    with pytest.raises(AmbiguousReferenceError) as info:
        lib.get(prefix)
    assert info.value.candidates == ["a@1", "b@1"]
    assert "matches 2 versions (a@1, b@1); use a longer hash prefix or NAME@NUMBER" in str(
        info.value
    )
    assert lib.resolve(f"b@{prefix}") == "b@1"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "it is empty"),
        ("a/b", "it contains / (path separators, @ and : are refused)"),
        ("a\\b", "it contains \\"),
        ("..", "ends with a dot"),
        (".hidden", "it starts with a dot"),
        ("tab\there", "control characters"),
        ("zero\u200bwidth", "control characters"),
        ("line\nbreak", "control characters"),
        ("a@b", "it contains @"),
        ("a:b", "it contains :"),
        (" pad", "whitespace"),
        ("CON", "reserved file name on Windows"),
        ("x" * 129, "longer than 128 characters"),
    ],
)
def test_bad_prompt_names_are_rejected(lib: Library, name: str, reason: str) -> None:
    with pytest.raises(InvalidNameError) as info:
        lib.save(PRODUCT, name)
    assert info.value.kind == "prompt"
    assert reason in str(info.value)
    assert lib.prompts() == []


def test_names_are_unique_regardless_of_case(lib: Library) -> None:
    lib.save(PRODUCT, "Bottle")
    with pytest.raises(VersionConflictError, match="a prompt named 'Bottle' exists"):
        lib.save(PORTRAIT, "bottle")


@pytest.mark.parametrize("label", ["3", "1abc", "Prod", "latest", "a:b", "", "x" * 64])
def test_bad_labels_are_rejected(lib: Library, label: str) -> None:
    lib.save(PRODUCT, "bottle")
    with pytest.raises(InvalidNameError) as info:
        lib.set_label("bottle@1", label)
    assert info.value.kind == "label"


def test_a_numeric_looking_ref_is_always_a_number(lib: Library) -> None:
    _chain(lib, 3)
    lib.set_label("bottle@1", "v2")  # a label that looks like a version name, but not a number
    assert lib.resolve("bottle@2") == "bottle@2"
    assert lib.resolve("bottle@v2") == "bottle@1"


def test_labels_move_with_an_append_only_history_and_roll_back(lib: Library) -> None:
    _chain(lib, 3)
    first = lib.set_label("bottle@1", "production", message="launch")
    assert first is not None and (first.action, first.from_number, first.to_number) == (
        "set",
        None,
        1,
    )
    assert lib.set_label("bottle@1", "production") is None  # already there: nothing recorded
    lib.set_label("bottle@2", "production", author="bob")
    lib.set_label("bottle@3", "production")
    assert lib.labels("bottle") == {"production": 3}
    back = lib.rollback("bottle", "production")
    assert (back.action, back.from_number, back.to_number) == ("rollback", 3, 2)
    back = lib.rollback("bottle", "production")
    assert (back.from_number, back.to_number) == (2, 1)
    with pytest.raises(LibraryError, match="has no earlier target to roll back to"):
        lib.rollback("bottle", "production")
    lib.rollback("bottle", "production", to="bottle@3", message="hotfix")
    lib.remove_label("bottle", "production")
    history = [
        (e.action, e.from_number, e.to_number, e.actor, e.message)
        for e in lib.label_history("bottle", "production")
    ]
    assert history == [
        ("set", None, 1, "ada", "launch"),
        ("move", 1, 2, "bob", ""),
        ("move", 2, 3, "ada", ""),
        ("rollback", 3, 2, "ada", ""),
        ("rollback", 2, 1, "ada", ""),
        ("rollback", 1, 3, "ada", "hotfix"),
        ("remove", 3, None, "ada", ""),
    ]
    assert lib.labels("bottle") == {}
    assert [e.at.isoformat()[11:19] for e in lib.label_history("bottle")][:2] == [
        "03:04:08",
        "03:04:09",
    ]


def test_rollback_refuses_a_version_of_another_prompt(lib: Library) -> None:
    _chain(lib, 2)
    lib.save(PORTRAIT, "face")
    lib.set_label("bottle@2", "production")
    with pytest.raises(VersionConflictError, match="is not a version of bottle"):
        lib.rollback("bottle", "production", to="face@1")


def test_log_shows_labels_and_tags(lib: Library) -> None:
    _chain(lib, 2)
    lib.set_label("bottle@2", "production")
    lib.set_label("bottle@2", "staging")
    lib.tag("bottle@1", "approved", "hero")
    assert [(e.ref, e.labels, e.tags) for e in lib.log("bottle")] == [
        ("bottle@2", ("production", "staging"), ()),
        ("bottle@1", (), ("approved", "hero")),
    ]


def test_diff_of_any_two_references(lib: Library) -> None:
    _chain(lib, 3)
    lib.set_label("bottle@1", "production")
    d = lib.diff("bottle@production", "bottle")
    assert [(c.path, c.old, c.new) for c in d] == [
        ("lighting.conditions", "soft studio lighting", "light 2")
    ]
    assert d.headline() == "1 change: lighting (1)"
    assert not lib.diff("bottle@2", "bottle@2")


def test_search_text_field_and_tag(lib: Library) -> None:
    _chain(lib, 3)
    lib.save(PORTRAIT, "face", tags=["people"])
    lib.tag("bottle@2", "people")
    assert [v.ref for v in lib.search("LIGHT 1")] == ["bottle@2"]
    assert [v.ref for v in lib.search("light")] == ["face@1", "bottle@3", "bottle@2", "bottle@1"]
    assert [v.ref for v in lib.search(where={"lighting.conditions": "Light 2"})] == ["bottle@3"]
    assert [v.ref for v in lib.search(where=["lighting.conditions=light"])] == []
    assert [v.ref for v in lib.search(tag="people")] == ["face@1", "bottle@2"]
    assert [v.ref for v in lib.search("light", tag="people", name="bottle")] == ["bottle@2"]
    assert [v.ref for v in lib.search("100%_")] == []  # LIKE wildcards are literal
    assert [v.ref for v in lib.search("light", limit=2)] == ["face@1", "bottle@3"]


def test_search_with_an_index_wildcard(lib: Library) -> None:
    prompt = StructuredPrompt.parse(PRODUCT)
    first = prompt.get("objects[0].location")
    lib.save(prompt, "bottle")
    assert [v.ref for v in lib.search(where=[("objects[*].location", first)])] == ["bottle@1"]
    assert [v.ref for v in lib.search(where=[("objects[*].location", "nowhere")])] == []


def test_a_wildcard_search_reads_window_by_window(
    lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_versions, "_SEARCH_WINDOW", 2)
    prompt = StructuredPrompt.parse(PRODUCT)
    for i in range(7):  # versions 1, 4, 7 have the object at "far left"
        where = "far left" if i % 3 == 0 else f"spot {i}"
        changed = prompt.set("objects[0].location", where).set("context", f"Take {i}.")
        lib.save(changed, "bottle", message=str(i))
    query = [("objects[*].location", "far left")]
    assert [v.ref for v in lib.search(where=query, limit=None)] == [
        "bottle@7",
        "bottle@4",
        "bottle@1",
    ]
    assert [v.ref for v in lib.search(where=query, limit=2)] == ["bottle@7", "bottle@4"]
    # LIKE's % spans lines: "far left" elsewhere in a candidate is re-checked away
    assert lib.search(where=[("objects[*].location", "spot")]) == []


def test_archived_prompts_are_readable_but_hidden_and_closed(lib: Library) -> None:
    _chain(lib, 2)
    lib.save(PORTRAIT, "face")
    lib.archive("bottle")
    assert [p.name for p in lib.prompts()] == ["face"]
    assert [(p.name, p.archived) for p in lib.prompts(include_archived=True)] == [
        ("bottle", True),
        ("face", False),
    ]
    assert lib.get("bottle@1").number == 1
    assert [v.ref for v in lib.search("light")] == ["face@1"]
    with pytest.raises(PromptArchivedError, match="prompt 'bottle' is archived"):
        lib.save(PORTRAIT, "bottle")
    lib.unarchive("bottle")
    assert lib.save(PORTRAIT, "bottle").ref == "bottle@3"


def test_prompt_listing(lib: Library) -> None:
    _chain(lib, 2)
    lib.set_label("bottle@1", "production")
    info = lib.prompts()[0]
    assert info.to_dict() == {
        "name": "bottle",
        "versions": 2,
        "labels": {"production": 1},
        "created_at": "2026-01-02T03:04:05.000000Z",
        "archived": False,
    }


def test_save_takes_a_dict_and_a_template_object(lib: Library) -> None:
    data = json.loads(PRODUCT)

    class Kit:
        name = "Acme"
        version = "3"

    class Tmpl:
        name = "hero"

    v = lib.save(data, "bottle", kit=Kit(), template=Tmpl(), variables={"n": 1})
    assert v.wire == StructuredPrompt.parse(data).wire
    assert (v.kit_name, v.kit_version, v.template_name, v.template_variables) == (
        "Acme",
        "3",
        "hero",
        {"n": 1},
    )


def test_in_memory_library_and_integrity(lib: Library) -> None:
    with Library(":memory:") as memory:
        memory.save(PRODUCT, "bottle")
        assert memory.get("bottle").number == 1
        assert memory.integrity_check() == ["ok"]
    _chain(lib, 2)
    assert lib.integrity_check() == ["ok"]


def test_a_closed_library_says_so(lib: Library) -> None:
    lib.close()
    with pytest.raises(LibraryError, match="the library is closed"):
        lib.get("bottle")
