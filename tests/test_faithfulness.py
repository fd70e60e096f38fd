import numpy as np
import pytest

from bilstm_attn.faithfulness import faithfulness


@pytest.fixture(scope="module")
def result(fitted, reviews):
    texts = [*reviews[1]["text"][:25], ""]
    return faithfulness(fitted, texts, fractions=(0.01, 0.1, 0.5), n_steps=20)


def test_shapes_and_empty_texts_left_out(result):
    per_doc = result.per_document
    assert len(per_doc) == 4 * 25 and 25 not in set(per_doc["document"])
    expected = {
        "comprehensiveness@0.01",
        "sufficiency@0.5",
        "aopc_comprehensiveness",
        "aopc_sufficiency",
    }
    assert expected <= set(per_doc.columns)
    assert len(result.agreement) == 6 * 25
    assert result.agreement["kendall_tau"].between(-1, 1).all()
    assert result.agreement["top5_overlap"].between(0, 1).all()


def test_comprehensiveness_of_the_top_word_is_its_occlusion_weight(
    fitted, reviews, result, across_layouts
):
    """The same probabilities, each computed in two batch layouts (faithfulness batches
    all its variants together, occlusion those of its own texts)."""
    occlusion = result.per_document.query("method == 'occlusion'").set_index("document")
    explanations = fitted.explain(list(reviews[1]["text"][:25]), method="occlusion")
    for doc, e in enumerate(explanations):  # 1% of ~40 words rounds up to the top word
        top = occlusion.loc[doc, "comprehensiveness@0.01"]
        assert top == pytest.approx(e.weights.max(), rel=0, abs=across_layouts)


def test_real_methods_beat_the_random_baseline(result):
    summary = result.summary
    for method in ("attention", "integrated_gradients", "occlusion"):
        assert summary.loc[method, "aopc_comprehensiveness"] > (
            summary.loc["random", "aopc_comprehensiveness"] + 0.1
        )
        assert summary.loc[method, "aopc_sufficiency"] < summary.loc["random", "aopc_sufficiency"]
    assert np.isnan(summary.loc["attention", "kendall_tau"])  # method rows carry AOPCs only


def test_unknown_method(fitted):
    with pytest.raises(ValueError, match=r"methods has unknown entries \['lime'\]"):
        faithfulness(fitted, ["a film"], methods=("attention", "lime"))
