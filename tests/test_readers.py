"""Every reader on files written in its published format, with real-world quirks, and fuzzed with hypothesis."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import copy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_landmarks.data import DataFormatError, check_dataset, load_dataset
from edge_landmarks.data.formats import dlib_xml, kaggle, pts, wflw

RNG = np.random.default_rng(0)


def _pts_text(points, crlf=False) -> str:
    lines = ["version: 1", f"n_points:  {len(points)}", "{"] + [f"{x + 1:.3f} {y + 1:.3f}" for x, y in points] + ["}"]
    return ("\r\n" if crlf else "\n").join(lines) + "\n"


def test_pts_roundtrip_and_crlf(tmp_path, face_image_paths):
    points = RNG.uniform(10, 80, (68, 2))
    f = tmp_path / "a.pts"
    f.write_bytes(_pts_text(points, crlf=True).encode())
    assert np.allclose(pts.read_pts(f), points, atol=1e-3)  # 1-based in the file, 0-based in memory
    pts.write_pts(tmp_path / "b.pts", points)
    assert np.allclose(pts.read_pts(tmp_path / "b.pts"), points, atol=1e-3)


@pytest.mark.parametrize("body,line,message", [
    ("version: 1\nn_points: 68\n{\n1 2\n}\n", None, "n_points says 68"),
    ("version: 1\nn_points: 2\n{\n1 2\n3 nan\n}\n", 5, "NaN"),
    ("version: 1\nn_points: 2\n{\n1 2\n3\n}\n", 5, "expected 'x y'"),
    ("version: 1\nn_points: two\n{\n}\n", 2, "not an integer"),
    ("version: 1\n{\n1 2\n}\n", None, "n_points"),
    ("version: 1\nn_points: 1\n{\n1 2\n", 4, "no '}'"),
])
def test_pts_errors_name_file_and_line(tmp_path, body, line, message):
    f = tmp_path / "bad.pts"
    f.write_text(body)
    with pytest.raises(DataFormatError, match=message) as info:
        pts.read_pts(f)
    assert info.value.path == str(f) and info.value.line == line
    assert str(f) in str(info.value)


def test_300w_tree_splits(tmp_path, face_image_paths):
    layout = ["afw/1.png", "helen/trainset/2.png", "lfpw/trainset/3.png", "helen/testset/4.png",
              "lfpw/testset/5.png", "ibug/6.png"]
    for rel, src in zip(layout, face_image_paths, strict=True):
        img = copy(src, tmp_path / rel).with_suffix(".png")
        cv2.imwrite(str(img), cv2.imread(str(src)))
        Path(str(img.with_suffix(".pgm"))).unlink(missing_ok=True)
        img.with_suffix(".pts").write_text(_pts_text(RNG.uniform(20, 70, (68, 2))))
    # the copy kept the .pgm name; rename each to its .png name
    for p in tmp_path.rglob("*.pgm"):
        p.unlink()
    data = load_dataset(tmp_path)
    assert data.format == "pts" and len(data) == 6
    assert data.splits() == {"train": 3, "common": 2, "challenge": 1, "full": 3}
    assert len(data.split("full")) == 3 and {s.subset for s in data.split("common")} == {"helen/testset",
                                                                                          "lfpw/testset"}
    with pytest.raises(DataFormatError, match="no split"):
        data.split("validation")


def test_pts_folder_without_image_is_an_error_or_skip(tmp_path):
    (tmp_path / "x.pts").write_text(_pts_text(RNG.uniform(0, 9, (68, 2))))
    with pytest.raises(DataFormatError, match="no image beside"):
        load_dataset(tmp_path)
    (tmp_path / "y.pts").write_text(_pts_text(RNG.uniform(0, 9, (68, 2))))
    cv2.imwrite(str(tmp_path / "y.png"), np.zeros((20, 20), np.uint8))
    data = load_dataset(tmp_path, skip_bad=True)
    assert len(data) == 1 and len(data.skipped) == 1


def test_300w_private_test_set_is_its_own_split(tmp_path):
    """300-W's private test set (01_Indoor, 02_Outdoor, 300 faces each) is ``test300w``, apart from the others."""
    for rel in ("300W/01_Indoor/indoor_001.png", "300W/02_Outdoor/outdoor_001.png", "afw/1.png"):
        img = tmp_path / rel
        img.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(img), np.zeros((90, 90), np.uint8))
        img.with_suffix(".pts").write_text(_pts_text(RNG.uniform(20, 70, (68, 2))))
    data = load_dataset(tmp_path)
    assert data.splits() == {"test300w": 2, "train": 1}
    assert {s.subset for s in data.split("test300w")} == {"01_indoor", "02_outdoor"}


def test_pts_that_is_not_utf8_names_file_and_line(tmp_path):
    f = tmp_path / "bad.pts"
    f.write_bytes(b"version: 1\nn_points: 68\n{\n\xff 1\n")
    with pytest.raises(DataFormatError, match=r"not UTF-8 text \(byte 0xff\)") as info:
        pts.read_pts(f)
    assert info.value.line == 4 and str(f) in str(info.value)


def test_data_check_skip_bad_on_the_cli(tmp_path):
    from click.testing import CliRunner

    from edge_landmarks.cli import main

    (tmp_path / "x.pts").write_text(_pts_text(RNG.uniform(0, 9, (68, 2))))
    (tmp_path / "y.pts").write_text(_pts_text(RNG.uniform(0, 9, (68, 2))))
    cv2.imwrite(str(tmp_path / "y.png"), np.zeros((20, 20), np.uint8))
    res = CliRunner().invoke(main, ["data", "check", str(tmp_path)])
    assert res.exit_code == 1 and "no image beside" in res.output and "x.pts" in res.output, res.output
    res = CliRunner().invoke(main, ["data", "check", str(tmp_path), "--skip-bad"])
    assert res.exit_code == 0, res.output
    assert "1 bad" in res.output and "no image beside" in res.output and "x.pts" in res.output, res.output


XML = """<?xml version='1.0' encoding='ISO-8859-1'?>
<?xml-stylesheet type='text/xsl' href='image_metadata_stylesheet.xsl'?>
<dataset>
<name>iBUG face point dataset - training images</name>
<!-- a comment, as in dlib's files -->
<images>
  <image file='helen/trainset/face.png'>
    <box top='10' left='12' width='70' height='80'>
{parts}
    </box>
  </image>
  <image file='helen/trainset/face.png'>
    <box top='1' left='1' width='5' height='5' ignore='1'/>
  </image>
</images>
</dataset>
"""


def _parts(points) -> str:
    return "\n".join(f"      <part name='{i:02d}' x='{int(x)}' y='{int(y)}'/>" for i, (x, y) in enumerate(points))


def test_dlib_xml(tmp_path, face_image_paths):
    points = RNG.integers(15, 80, (68, 2))
    (tmp_path / "helen/trainset").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "helen/trainset/face.png"), cv2.imread(str(face_image_paths[0])))
    f = tmp_path / "labels_ibug_300W_train.xml"
    f.write_bytes(XML.replace("{parts}", _parts(points)).replace("\n", "\r\n").encode("latin-1"))
    data = load_dataset(f)
    assert data.format == "dlib-xml" and len(data) == 1  # the ignore='1' box is skipped
    s = data[0]
    assert np.allclose(s.landmarks, points) and s.box == (12, 10, 82, 90) and s.split == "train"
    assert s.source.endswith(":8")
    report = check_dataset(f)
    assert report.counts == {"train": 1} and not report.errors


def test_dlib_xml_errors_name_line(tmp_path):
    f = tmp_path / "l.xml"
    bad = XML.replace("{parts}", _parts(np.ones((68, 2))).replace("x='1' y='1'/>", "x='oops' y='1'/>", 1))
    f.write_text(bad)
    with pytest.raises(DataFormatError, match="not a number") as info:
        load_dataset(f)
    assert info.value.line == 9
    f.write_text(XML.replace("{parts}", _parts(np.ones((67, 2)))))
    with pytest.raises(DataFormatError, match="67 parts"):
        load_dataset(f)
    f.write_text("<dataset><images><image file='a.png'><box top='1'></image></dataset>")
    with pytest.raises(DataFormatError, match="missing attribute 'left'"):
        load_dataset(f, fmt="dlib-xml")
    f.write_text("<dataset><images>\n<image file='a.png'>\n</images>")
    with pytest.raises(DataFormatError, match="malformed XML") as info:
        load_dataset(f, fmt="dlib-xml")
    assert info.value.line == 3


def test_dlib_xml_skip_bad_leaves_out_only_the_bad_box(tmp_path):
    """With skip_bad, a part with a missing or broken attribute, or a box without its size, loses that box only;
    the error is kept with its line, and the good boxes are read."""
    good = f"    <box top='10' left='12' width='70' height='80'>\n{_parts(np.ones((68, 2)))}\n    </box>"
    no_x = good.replace("x='1' y='1'/>", "y='1'/>", 1)  # part 00 without x
    no_size = good.replace(" width='70'", "", 1)
    f = tmp_path / "l.xml"
    f.write_text("<dataset><images>\n  <image file='a.png'>\n" + "\n".join([good, no_x, no_size, good])
                 + "\n  </image>\n  <image>\n" + good + "\n  </image>\n</images></dataset>\n")
    data = dlib_xml.read(f, skip_bad=True)
    assert len(data) == 2 and all(s.source.endswith((":3", f":{3 + 3 * 70}")) for s in data), [s.source for s in data]
    messages = [(e.line, str(e)) for e in data.skipped]
    assert len(messages) == 3, messages
    assert "missing attribute 'x'" in messages[0][1] and messages[0][0] == 3 + 70 + 1
    assert "missing attribute 'width'" in messages[1][1] and messages[1][0] == 3 + 2 * 70
    assert "<image> without a 'file'" in messages[2][1]
    with pytest.raises(DataFormatError, match="missing attribute 'x'"):
        dlib_xml.read(f)


def _wflw_line(points, box, attrs, name) -> str:
    return " ".join([f"{v:.6f}" for v in points.reshape(-1)] + [str(b) for b in box] + [str(a) for a in attrs]
                    + [name])


def test_wflw(tmp_path, face_image_paths):
    ann = tmp_path / "WFLW_annotations" / "list_98pt_rect_attr_train_test"
    ann.mkdir(parents=True)
    images = tmp_path / "WFLW_images" / "0--Parade"
    images.mkdir(parents=True)
    cv2.imwrite(str(images / "0_Parade_1.jpg"), cv2.imread(str(face_image_paths[0])))
    points = RNG.uniform(10, 80, (98, 2))
    f = ann / "list_98pt_rect_attr_test.txt"
    line = _wflw_line(points, (5, 6, 85, 100), (1, 0, 0, 0, 1, 0), "0--Parade/0_Parade_1.jpg")
    f.write_text(line + "\r\n" + line + "\r\n")
    data = load_dataset(f)
    assert data.format == "wflw" and len(data) == 2 and data[0].scheme == "wflw98"
    assert np.allclose(data[0].landmarks, points, atol=1e-5) and data[0].box == (5, 6, 85, 100)
    assert data[1].attributes == {"pose": 1, "expression": 0, "illumination": 0, "makeup": 0, "occlusion": 1,
                                  "blur": 0}
    assert data[0].load_image().shape[:2] == (112, 92) and data.splits() == {"test": 2}
    f.write_text(line + "\n" + line.rsplit(" ", 2)[0] + "\n")
    with pytest.raises(DataFormatError, match="expected 207 fields") as info:
        load_dataset(f)
    assert info.value.line == 2
    assert len(load_dataset(f, skip_bad=True).skipped) == 1


def _kaggle_csv(rows) -> str:
    header = ",".join(kaggle.COLUMNS) + ",Image"
    return "\n".join([header] + rows) + "\n"


def test_kaggle(tmp_path):
    pixels = " ".join(str(v) for v in RNG.integers(0, 256, 9216))
    full = ",".join(f"{v:.4f}" for v in RNG.uniform(10, 86, 30))
    partial = ",".join(["66.0", "39.0", "30.2", "36.4"] + [""] * 26)
    f = tmp_path / "training.csv"
    f.write_text(_kaggle_csv([f"{full},{pixels}", f"{partial},{pixels}"]).replace("\n", "\r\n"))
    data = load_dataset(f)
    assert data.format == "kaggle" and len(data) == 2
    assert data[0].mask.all() and data[1].mask.sum() == 2 and np.isnan(data[1].landmarks[2:]).all()
    assert data[0].load_image().shape == (96, 96)
    report = check_dataset(f)
    assert report.partial == 1 and not report.errors
    f.write_text(_kaggle_csv([f"{full},{pixels} 7"]))
    with pytest.raises(DataFormatError, match="9217 values") as info:
        load_dataset(f)
    assert info.value.line == 2
    only_x = ",".join(["66.0", ""] + [""] * 28)
    f.write_text(_kaggle_csv([f"{only_x},{pixels}"]))
    with pytest.raises(DataFormatError, match="only one of x and y"):
        load_dataset(f)
    test_csv = tmp_path / "test.csv"
    test_csv.write_text(f"ImageId,Image\n1,{pixels}\n")
    t = load_dataset(test_csv)
    assert t.splits() == {"test": 1} and not t[0].mask.any()


def test_box_outside_image_is_reported(tmp_path, face_image_paths):
    (tmp_path / "helen/trainset").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "helen/trainset/face.png"), cv2.imread(str(face_image_paths[0])))
    f = tmp_path / "l.xml"
    f.write_text(XML.replace("{parts}", _parts(RNG.integers(15, 80, (68, 2))))
                 .replace("top='10' left='12'", "top='500' left='600'"))
    report = check_dataset(f)
    assert len(report.errors) == 1 and "outside" in report.errors[0] and f"{f}:8" in report.errors[0]
    with pytest.raises(DataFormatError, match="outside"):
        check_dataset(f, skip_bad=False)


def test_unknown_path_and_format(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(DataFormatError, match="not a dataset"):
        load_dataset(tmp_path / "notes.txt")


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_texty = st.one_of(
    st.binary(max_size=400),
    st.text(alphabet=st.sampled_from(list("0123456789.-, \n\r{}:abcnpt_<>='/\"")), max_size=400).map(str.encode),
)


_FUZZ_CASES = {
    "pts": ("f.pts", b"version: 1\nn_points: 3\n{\n", pts.read),
    "xml": ("f.xml", b"<dataset><images><image file='a.png'><box top='1' left='1' width='3' height='3'>",
            dlib_xml.read),
    "wflw": ("list_98pt_rect_attr_train.txt", " ".join(["1.0"] * 196 + ["1", "1", "5", "5"]).encode() + b" ",
             wflw.read),
    "kaggle": ("training.csv", (",".join(kaggle.COLUMNS) + ",Image\n").encode(), kaggle.read),
}


@pytest.mark.parametrize("fmt", sorted(_FUZZ_CASES))
@FUZZ
@given(data=_texty)
def test_fuzz_readers_raise_only_our_error(tmp_path, fmt, data):
    """A valid prefix followed by random bytes: the reader succeeds or raises DataFormatError, nothing else."""
    name, prefix, read = _FUZZ_CASES[fmt]
    f = tmp_path / name
    f.write_bytes(prefix + data)
    try:
        read(f)
    except DataFormatError:
        pass


def test_16_bit_and_alpha_images_read_as_a_viewer_shows_them(tmp_path):
    """A 16-bit PNG is scaled by its type's range (65535 -> 255), not stretched to its brightest pixel; an alpha
    channel is dropped."""
    from edge_landmarks.data.samples import read_image

    grey16 = np.full((8, 8), 257 * 100, np.uint16)  # a dark 16-bit grey: 100 in 8 bits
    grey16[0, 0] = 257 * 120
    cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    img = read_image(tmp_path / "g16.png")
    assert img.dtype == np.uint8 and img.shape == (8, 8) and img[1, 1] == 100 and img[0, 0] == 120
    bgra = np.zeros((4, 4, 4), np.uint8)
    bgra[..., 0], bgra[..., 3] = 200, 10
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    img = read_image(tmp_path / "a.png")
    assert img.shape == (4, 4, 3) and (img[..., 0] == 200).all()
