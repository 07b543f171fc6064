"""The column reference people write mappings from must be the model itself."""

from pathlib import Path

from aftersales import model

DOC = Path(__file__).resolve().parents[1] / "docs" / "DATA_MODEL.md"


def test_data_model_doc_is_generated_from_the_model():
    assert DOC.read_text(encoding="utf-8").strip() == model.markdown().strip(), (
        "docs/DATA_MODEL.md is stale: run `aftersales schema --markdown > docs/DATA_MODEL.md`")


def test_every_column_is_documented_with_type_and_label():
    for table in model.TABLES.values():
        for col in table.columns:
            assert col.doc and col.zh, f"{table.name}.{col.name} needs a description and a Chinese label"
        assert set(table.key) <= set(table.column_names)
    assert set(model.LOAD_ORDER) == set(model.TABLES)
