"""The model catalog: every card's schema, kwargs against the official layouts, defaults, user cards."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from restore_cli import cards
from restore_cli.cards import (
    bundled_fallback,
    default_card,
    find_card,
    load_cards,
    packaged_cards,
    read_card,
    select_card,
)
from restore_cli.config import Settings
from restore_cli.errors import ModelCardError

REPO = Path(__file__).resolve().parents[1]
LAYOUTS = json.loads((Path(__file__).parent / "fixtures" / "official_layouts.json").read_text())

EXPECTED_IDS = (
    [f"mambair-sr-x{s}" for s in (2, 3, 4)] + [f"mambair-light-x{s}" for s in (2, 3, 4)]
    + ["mambair-realsr-x4"] + [f"mambair-dn-color-s{g}" for g in (15, 25, 50)]
    + [f"mambair-jpeg-q{q}" for q in (10, 30, 40)] + ["mambair-realdn"]
    + [f"mambairv2-{v}-x{s}" for v in ("small", "base", "large") for s in (2, 3, 4)]
    + [f"mambairv2-light-x{s}" for s in (2, 3, 4)] + ["mambairv2-dn-color-s15"]
    + [f"mambairv2-jpeg-q{q}" for q in (10, 30, 40)]
)


def layout_name(card_id: str) -> str:
    """Which official_layouts.json entry a packaged card's architecture must equal."""
    fixed = {
        "mambair-realsr-x4": "mambair_realsr_x4", "mambair-realdn": "mambair_realdn_unet",
        "mambairv2-dn-color-s15": "mambairv2_dn_color",
    }
    if card_id in fixed:
        return fixed[card_id]
    family, _, rest = card_id.partition("-")
    if rest.startswith("dn-color-"):
        return f"{family}_dn_color"
    if rest.startswith("jpeg-"):
        return f"{family}_car_gray"
    variant, _, scale = rest.rpartition("-")
    if variant == "light":
        return f"{family}_lightsr_{scale}"
    if family == "mambair":
        return f"mambair_sr_{scale}"
    return f"mambairv2_sr_{variant}_{scale}"


PACKAGED = {c.id: c for c in packaged_cards() if c.bundled is None}  # the released pretrained models
BUNDLED = [c for c in packaged_cards() if c.bundled is not None]  # trained by us, shipped in the package

# Hub paths seen in public code (hub_and_scan.md §1.1): the only ones allowed `confirmed = true`.
SEEN_ON_HUB = {
    "MambaIRv1_ckpt/MambaIR_classicSRx4.pth", "MambaIRv1_ckpt/ColorDN_MambaIR_level25.pth",
    "MambaIRv2_ckpt/mambairv2_classicSR_Base_x4.pth", "MambaIRv2_ckpt/mambairv2_lightSR_x2.pth",
    "MambaIRv2_ckpt/mambairv2_lightSR_x4.pth",
}


def test_catalog_has_exactly_the_released_models():
    assert sorted(PACKAGED) == sorted(EXPECTED_IDS)
    assert cards.packaged_cards_dir() in (REPO / "models", Path(cards.__file__).parent / "_cards")


@pytest.mark.parametrize("card", BUNDLED, ids=[c.id for c in BUNDLED])
def test_bundled_packaged_cards_ship_their_weights(card):
    assert card.id.startswith("restore-") and not card.sources
    assert card.bundled_path() == cards.BUNDLED_WEIGHTS_DIR / card.bundled
    assert card.bundled_path().is_file(), f"{card.bundled} is missing from restore_cli/weights/"


def test_bundled_weights_stay_within_the_package_budget():
    """The issues allow 20 MB of bundled weights for the trained models plus 20 MB for derain/deblur."""
    total = sum(card.bundled_path().stat().st_size for card in BUNDLED)
    assert len(BUNDLED) >= 7 and total <= 40_000_000, f"bundled weights: {total / 1e6:.1f} MB"


@pytest.mark.parametrize("card_id", EXPECTED_IDS)
def test_card_kwargs_equal_the_official_layout(card_id):
    card = PACKAGED[card_id]
    entry = LAYOUTS[layout_name(card_id)]
    assert card.arch_class == entry["official_class"]
    assert card.kwargs_dict() == entry["kwargs"]
    assert card.path is not None and card.path.name == f"{card_id}.toml"
    assert card.scale == entry["kwargs"].get("upscale", 1)
    assert card.in_channels == entry["kwargs"].get("in_chans", 3)


@pytest.mark.parametrize("card_id", EXPECTED_IDS)
def test_card_sources_licence_and_paper(card_id):
    card = PACKAGED[card_id]
    v2 = card_id.startswith("mambairv2-")
    first = card.sources[0]
    assert (first.kind, first.repo_id, first.revision) == ("hub", "cguoh/MambaIR", "main")
    assert first.filename.startswith("MambaIRv2_ckpt/" if v2 else "MambaIRv1_ckpt/")
    assert first.confirmed == (first.filename in SEEN_ON_HUB)
    if v2:  # then the GitHub release asset of the same name
        assert len(card.sources) == 2
        assert card.sources[1].url == ("https://github.com/csguoh/MambaIR/releases/download/v1.0/"
                                       + first.filename.split("/")[-1])
    else:
        assert len(card.sources) == 1
    assert all(s.sha256 is None and s.size is None for s in card.sources)  # none published or verified yet
    assert card.license == "Apache-2.0"
    assert card.paper_arxiv == ("2411.15269" if v2 else "2402.15648")
    assert card.variant


def test_metrics_are_the_papers_numbers():
    assert not PACKAGED["mambair-realsr-x4"].metrics  # RealSRSet has no ground truth
    for card in PACKAGED.values():
        if card.id != "mambair-realsr-x4":
            assert card.metrics and all(m.convention and m.source and m.psnr > 20 for m in card.metrics)
    urban = {m.benchmark: m for m in PACKAGED["mambairv2-base-x4"].metrics}["Urban100"]
    assert (urban.psnr, urban.ssim) == (27.89, 0.8344) and "4 px" in urban.convention
    live1 = {m.benchmark: m for m in PACKAGED["mambair-jpeg-q40"].metrics}["LIVE1"]
    assert (live1.psnr, live1.ssim) == (34.70, 0.9320)
    sidd = PACKAGED["mambair-realdn"].metrics[0]
    assert (sidd.benchmark, sidd.psnr, sidd.ssim) == ("SIDD", 39.89, 0.96)
    assert [m.psnr for m in PACKAGED["mambair-dn-color-s50"].metrics] == [28.61, 29.85, 30.31, 30.07]


def test_exactly_one_default_per_task_setting():
    seen: dict[tuple[str, int | None], str] = {}
    for card in packaged_cards():  # bundled cards too: they must not steal a released model's default
        if card.default:
            key = (card.task, card.param)
            assert key not in seen, f"{card.id} and {seen[key]} are both defaults"
            seen[key] = card.id
    expected = {
        ("sr", 2): "mambairv2-base-x2", ("sr", 3): "mambairv2-base-x3", ("sr", 4): "mambairv2-base-x4",
        ("denoise", 15): "mambairv2-dn-color-s15", ("denoise", 25): "mambair-dn-color-s25",
        ("denoise", 50): "mambair-dn-color-s50", ("jpeg", 10): "mambairv2-jpeg-q10",
        ("jpeg", 30): "mambairv2-jpeg-q30", ("jpeg", 40): "mambairv2-jpeg-q40",
        ("realdenoise", None): "mambair-realdn", ("realsr", 4): "mambair-realsr-x4",
    }
    assert {key: seen.get(key) for key in expected} == expected
    # any other default is a bundled model for a setting no released model serves (derain, deblur, ...)
    for key in set(seen) - set(expected):
        assert seen[key].startswith("restore-"), key


def test_every_card_builds_its_official_layout():
    torch = pytest.importorskip("torch")
    pytest.importorskip("restore_cli.archs.mambair")
    pytest.importorskip("restore_cli.archs.mambair_v2")
    pytest.importorskip("restore_cli.archs.mambair_unet")
    from restore_cli.archs import from_official
    from restore_cli.checkpoint import layout_of, layout_problems

    built: dict[str, dict] = {}  # cards sharing a layout (the three σ, the three q) are built once
    for card_id in EXPECTED_IDS:
        name = layout_name(card_id)
        if name not in built:
            card = PACKAGED[card_id]
            with torch.device("meta"):
                built[name] = layout_of(from_official(card.arch_class, card.arch_kwargs))  # as the engine does
        expected = {k: shape for k, shape, _ in LAYOUTS[name]["state_dict"]}
        assert layout_problems(expected, built[name]) == [], card_id


# ----------------------------------------------------------------------------------- schema errors
GOOD = """
id = "my-model"
task = "sr"
scale = 2
[arch]
class = "MambaIR"
[arch.kwargs]
upscale = 2
[[sources]]
repo_id = "me/models"
filename = "x.pth"
"""


def _write(tmp_path: Path, text: str, name: str = "card.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (GOOD.replace('task = "sr"', 'task = "sr"\ncolour = 1'), "colour"),
        (GOOD.replace("scale = 2", 'scale = "2"'), "scale"),
        (GOOD.replace("scale = 2", "scale = true"), "scale"),
        (GOOD.replace("\nscale = 2\n", "\n"), "scale"),
        (GOOD.replace('task = "sr"', 'task = "paint"'), "task"),
        (GOOD.replace('id = "my-model"', 'id = "My Model"'), "id"),
        (GOOD.replace('task = "sr"\nscale = 2', 'task = "jpeg"'), "quality"),
        (GOOD.replace('task = "sr"\nscale = 2', 'task = "denoise"\nsigma = 300'), "sigma"),
        (GOOD.replace("upscale = 2", "upscale = 4"), "arch.kwargs.upscale"),
        (GOOD.replace('class = "MambaIR"', ""), "arch.class"),
        (GOOD + 'sha256 = "abc"\n', "sources[0].sha256"),
        (GOOD + "size = -1\n", "sources[0].size"),
        (GOOD + 'url = "https://x/y"\n', "sources[0]"),
        (GOOD.replace('repo_id = "me/models"', 'repo_id = "nope"'), "sources[0].repo_id"),
        (GOOD.replace('filename = "x.pth"', 'url = "ftp://x/y.pth"').replace('repo_id = "me/models"\n', ""),
         "sources[0].url"),
        (GOOD.split("[[sources]]")[0], "sources"),
        (GOOD.split("[[sources]]")[0] + 'bundled = "../x.safetensors"', "sources"),
        (GOOD + "[[metrics]]\nbenchmark = 'Set5'\npsnr = 30\nssim = 2\n", "metrics[0].ssim"),
        (GOOD + "[[metrics]]\nbenchmark = 'Set5'\n", "metrics[0].psnr"),
        (GOOD.replace('task = "sr"', 'task = "sr"\ntraining = 3'), "training"),
    ],
)
def test_schema_errors_name_file_and_field(tmp_path, text, field):
    path = _write(tmp_path, text)
    with pytest.raises(ModelCardError) as info:
        read_card(path)
    message = str(info.value)
    assert str(path) in message and f"'{field}'" in message and message.endswith("fix the card file.")


def test_bad_bundled_name_and_bad_toml(tmp_path):
    text = GOOD.split("[[sources]]")[0].replace('task = "sr"', 'bundled = "w/x.safetensors"\ntask = "sr"')
    with pytest.raises(ModelCardError, match="'bundled'"):
        read_card(_write(tmp_path, text))
    with pytest.raises(ModelCardError, match="not a valid TOML"):
        read_card(_write(tmp_path, "id = ", "broken.toml"))
    with pytest.raises(ModelCardError, match="cannot read"):
        read_card(tmp_path / "missing.toml")


def test_good_card_defaults(tmp_path):
    card = read_card(_write(tmp_path, GOOD))
    assert card.origin == "file" and card.name == "my-model" and not card.default
    assert card.sources[0].revision == "main" and card.sources[0].confirmed
    assert card.param == 2 and card.param_label == "x2" and card.sha256 is None
    info = card.as_json()
    assert info["sources"] == [{"repo_id": "me/models", "filename": "x.pth", "revision": "main", "sha256": None,
                                "size": None, "confirmed": True}]
    json.dumps(info)  # serialisable
    trained = read_card(_write(tmp_path, GOOD + "[training]\nsteps = 3\ndegradations = ['bicubic']\n", "t.toml"))
    assert trained.training["steps"] == 3 and trained.as_json()["training"] == {"steps": 3, "degradations": ["bicubic"]}


# --------------------------------------------------------------------------------- user cards
def test_user_cards_join_the_catalog_and_may_set_defaults(tmp_path):
    settings = Settings.in_folder(tmp_path)
    settings.cards_dir.mkdir(parents=True)
    _write(settings.cards_dir, GOOD.replace("scale = 2", "scale = 2\ndefault = true"), "mine.toml")
    pool = load_cards(settings)
    assert len(pool) == len(EXPECTED_IDS) + len(BUNDLED) + 1
    mine = find_card("my-model", settings=settings)
    assert mine.origin == "user"
    assert default_card("sr", 2, settings=settings).id == "my-model"  # user default wins
    assert default_card("sr", 4, settings=settings).id == "mambairv2-base-x4"
    # an explicit --model-card file is added too; the same file twice is not a clash
    extra = _write(tmp_path, GOOD.replace("my-model", "other-model"), "other.toml")
    assert find_card("other-model", settings=settings, extra_files=[extra]).origin == "file"
    assert len(load_cards(settings, extra_files=[settings.cards_dir / "mine.toml"])) == len(pool)


def test_user_card_cannot_shadow_a_packaged_id(tmp_path):
    settings = Settings.in_folder(tmp_path)
    settings.cards_dir.mkdir(parents=True)
    _write(settings.cards_dir, GOOD.replace("my-model", "mambairv2-base-x4"), "clash.toml")
    with pytest.raises(ModelCardError, match="already used by"):
        load_cards(settings)


def test_two_user_defaults_for_one_setting_are_an_error(tmp_path):
    settings = Settings.in_folder(tmp_path)
    settings.cards_dir.mkdir(parents=True)
    for name in ("a", "b"):
        _write(settings.cards_dir, GOOD.replace("my-model", name).replace("scale = 2", "scale = 2\ndefault = true"),
               f"{name}.toml")
    with pytest.raises(ModelCardError, match="several cards claim"):
        default_card("sr", 2, settings=settings)


# ------------------------------------------------------------------------------------ lookups
def test_find_card_suggests_near_ids():
    with pytest.raises(ModelCardError, match="Did you mean mambairv2-base-x4"):
        find_card("mambairv2-base-x5", cards=list(PACKAGED.values()))


def test_default_card_needs_the_parameter_when_ambiguous():
    pool = list(PACKAGED.values())
    with pytest.raises(ModelCardError, match="needs a scale: one of 2, 3, 4"):
        default_card("sr", cards=pool)
    with pytest.raises(ModelCardError, match="available: 2, 3, 4"):
        default_card("sr", 8, cards=pool)
    assert default_card("denoise", 30, cards=pool).id == "mambair-dn-color-s25"  # nearest level
    with pytest.raises(ModelCardError, match="no pretrained model for task 'derain'"):
        default_card("derain", cards=pool)
    assert default_card("realdenoise", cards=pool).id == "mambair-realdn"
    assert default_card("realsr", cards=pool).id == "mambair-realsr-x4"


@pytest.mark.parametrize(
    ("task", "params", "model", "expected"),
    [
        ("sr", {"scale": 4}, None, "mambairv2-base-x4"),
        ("sr", {"scale": 3}, "v2-large", "mambairv2-large-x3"),
        ("sr", {"scale": 2}, "v2-small", "mambairv2-small-x2"),
        ("sr", {"scale": 4}, "light", "mambair-light-x4"),
        ("sr", {"scale": 4}, "v2-light", "mambairv2-light-x4"),
        ("sr", {"scale": 2}, "classic", "mambair-sr-x2"),
        ("sr", {"scale": 4}, "real", "mambair-realsr-x4"),
        ("sr", {"scale": 4}, "v2", "mambairv2-base-x4"),
        ("sr", {"scale": 4}, "mambair-sr-x4", "mambair-sr-x4"),
        ("denoise", {"sigma": 15}, None, "mambairv2-dn-color-s15"),
        ("denoise", {"sigma": 15}, "classic", "mambair-dn-color-s15"),
        ("denoise", {"sigma": 50}, None, "mambair-dn-color-s50"),
        ("denoise", {}, "real", "mambair-realdn"),
        ("jpeg", {"quality": 10}, None, "mambairv2-jpeg-q10"),
        ("jpeg", {"quality": 30}, "classic", "mambair-jpeg-q30"),
        ("realdenoise", {}, None, "mambair-realdn"),
    ],
)
def test_select_card(task, params, model, expected):
    assert select_card(task, model=model, cards=list(PACKAGED.values()), **params).id == expected


def test_select_card_refusals():
    pool = list(PACKAGED.values())
    with pytest.raises(ModelCardError, match="serves denoise, not sr"):
        select_card("sr", scale=4, model="mambair-dn-color-s25", cards=pool)
    with pytest.raises(ModelCardError, match="variants: "):
        select_card("sr", scale=4, model="huge", cards=pool)
    with pytest.raises(ModelCardError, match="several settings"):
        select_card("sr", model="v2-large", cards=pool)
    with pytest.raises(ModelCardError, match="no bundled model"):
        select_card("jpeg", quality=10, model="bundled", cards=pool)
    # an exact id with a different parameter is refused, not silently run at the id's setting
    with pytest.raises(ModelCardError, match="is for x4, not scale 2"):
        select_card("sr", scale=2, model="mambair-sr-x4", cards=pool)
    with pytest.raises(ModelCardError, match="not sigma 15"):
        select_card("denoise", sigma=15, model="mambair-dn-color-s25", cards=pool)
    assert select_card("sr", model="mambair-sr-x2", cards=pool).id == "mambair-sr-x2"  # no parameter: the id's


def test_bundled_cards(tmp_path):
    text = GOOD.split("[[sources]]")[0].replace('task = "sr"', 'bundled = "restore-sr-x2.safetensors"\ntask = "sr"')
    card_file = _write(tmp_path, text.replace("my-model", "restore-sr-x2"), "restore-sr-x2.toml")
    (tmp_path / "restore-sr-x2.safetensors").write_bytes(b"x")
    card = read_card(card_file)
    assert card.bundled_path() == tmp_path / "restore-sr-x2.safetensors"
    pool = [*PACKAGED.values(), card]
    assert bundled_fallback("sr", scale=2, cards=pool) is card
    assert bundled_fallback("sr", scale=4, cards=pool) is None
    assert select_card("sr", scale=2, model="bundled", cards=pool) is card
    packaged_style = cards.ModelCard(id="restore-x", name="x", task="sr", arch_class="MambaIR", arch_kwargs={},
                                     bundled="restore-x.safetensors", scale=2)
    assert packaged_style.bundled_path() == cards.BUNDLED_WEIGHTS_DIR / "restore-x.safetensors"


# --------------------------------------------------------------------------------------- wheel
@pytest.mark.slow  # builds the wheel with hatchling (~10 s)
def test_wheel_ships_the_cards(tmp_path):
    out = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip().splitlines()[-1:]}")
    (wheel,) = out.glob("restore_cli-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        shipped = sorted(Path(n).stem for n in names if n.startswith("restore_cli/_cards/") and n.endswith(".toml"))
        assert set(EXPECTED_IDS) <= set(shipped)
        for card in BUNDLED:
            assert f"restore_cli/weights/{card.bundled}" in names
        zf.extractall(tmp_path / "site")
    # the unpacked wheel finds its cards in restore_cli/_cards, not in a checkout
    code = ("import restore_cli.cards as c; print(c.packaged_cards_dir()); "
            "print(len(c.packaged_cards())); print(c.find_card('mambairv2-base-x4', cards=c.packaged_cards()).id)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    folder, count, found = run.stdout.split()
    assert folder == str(tmp_path / "site" / "restore_cli" / "_cards")
    assert int(count) == len(packaged_cards()) and found == "mambairv2-base-x4"


@pytest.mark.parametrize("card_id", sorted(EXPECTED_IDS))
def test_card_parameter_count_matches_official(card_id):
    assert PACKAGED[card_id].params == LAYOUTS[layout_name(card_id)]["params"]


@pytest.mark.parametrize(("task", "value", "expected"), [
    ("jpeg", 20, "mambairv2-jpeg-q10"), ("jpeg", 35, "mambairv2-jpeg-q30"), ("jpeg", 90, "mambairv2-jpeg-q40"),
    ("denoise", 20, "mambair-dn-color-s25"), ("denoise", 10, "mambairv2-dn-color-s15"),
    ("denoise", 70, "mambair-dn-color-s50"),
])
def test_levels_between_trained_ones_take_the_nearest_model(task, value, expected):
    kw = {"quality": value} if task == "jpeg" else {"sigma": value}
    assert select_card(task, **kw).id == expected


def test_sr_scale_has_no_nearest_model():
    with pytest.raises(ModelCardError, match="available: 2, 3, 4"):
        select_card("sr", scale=5)
