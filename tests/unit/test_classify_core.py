"""core.classify: labelled documents, stratified splits, the scorecard and the two linear baselines."""

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score

from core.classify.linear import LinearModel, train_mean_vectors, train_tfidf
from core.classify.metrics import chance, predict, scorecard
from core.classify.split import Split, SplitConfig, _stratified_shuffle, labelled, make_split
from core.corpus.model import Document
from core.errors import UserError

CLASSES = ["food", "sport", "tech"]
PLANTED = {
    "food": ["pasta", "garlic", "oven", "recipe", "butter"],
    "sport": ["goal", "referee", "stadium", "striker", "match"],
    "tech": ["laptop", "kernel", "server", "compiler", "pixel"],
}
FILLER = [f"word{i}" for i in range(40)]


def planted_corpus(n=300, seed=0):
    """Each document: 6 shared filler words and 3 words of its class, shuffled."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = CLASSES[i % 3]
        words = list(rng.choice(FILLER, 6)) + list(rng.choice(PLANTED[label], 3))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def word_table(dim=24, seed=1):
    rng = np.random.default_rng(seed)
    words = FILLER + [w for ws in PLANTED.values() for w in ws]
    return {w: rng.normal(size=dim) for w in words}


def mean_embed(table):
    dim = len(next(iter(table.values())))

    def embed(texts):
        out = np.zeros((len(texts), dim))
        for i, text in enumerate(texts):
            vs = [table[w] / np.linalg.norm(table[w]) for w in text.split() if w in table]
            if vs:
                out[i] = np.mean(vs, axis=0)
        return out

    return embed


@pytest.fixture(scope="module")
def planted():
    texts, labels = planted_corpus()
    split = make_split(labels, SplitConfig())
    model = train_tfidf([texts[i] for i in split.train], split.y[split.train], split.classes)
    return texts, split, model


# ---- metrics ------------------------------------------------------------------------------------
def test_scorecard_matches_sklearn_three_classes():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 60)
    proba = rng.dirichlet([1, 1, 1], 60)
    proba[np.arange(60), y] += 0.4 * (rng.random(60) < 0.6)  # right more often than not
    proba /= proba.sum(axis=1, keepdims=True)
    card = scorecard(y, proba, ["a", "b", "c"])
    pred = proba.argmax(axis=1)
    assert card["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert card["macro"]["f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert card["weighted"]["f1"] == pytest.approx(f1_score(y, pred, average="weighted"))
    assert card["confusion"] == confusion_matrix(y, pred).tolist()
    assert [c["support"] for c in card["per_class"]] == np.bincount(y, minlength=3).tolist()
    assert "roc" not in card
    assert sum(b["count"] for b in card["reliability"]) == 60 and len(card["reliability"]) == 10
    assert 0 <= card["ece"] <= 1 and card["log_loss"] > 0
    json.dumps(card)


def test_scorecard_binary_curves_and_threshold():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 500)
    p1 = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, 500), 0.001, 0.999)
    proba = np.column_stack([1 - p1, p1])
    card = scorecard(y, proba, ["neg", "pos"])
    assert card["roc"]["auc"] == pytest.approx(roc_auc_score(y, p1))
    assert len(card["roc"]["fpr"]) <= 200 and len(card["pr"]["thresholds"]) <= 200
    assert len(card["pr"]["precision"]) == len(card["pr"]["thresholds"]) + 1
    assert all(np.isfinite(card["roc"]["thresholds"]))
    json.dumps(card, allow_nan=False)
    strict = scorecard(y, proba, ["neg", "pos"], threshold=0.9)
    assert strict["threshold"] == 0.9
    assert np.array(strict["confusion"])[:, 1].sum() == int((p1 >= 0.9).sum())
    assert np.array(strict["confusion"])[:, 1].sum() < np.array(card["confusion"])[:, 1].sum()
    assert (predict(proba, 0.9) == (p1 >= 0.9)).all()
    with pytest.raises(ValueError):
        predict(np.ones((2, 3)) / 3, 0.5)
    one_class = scorecard([1, 1, 1], proba[:3], ["neg", "pos"])
    assert one_class["roc"] is None and one_class["pr"] is None
    json.dumps(one_class)


def test_chance_is_the_training_majority():
    assert chance([0, 0, 1], [0, 1, 1, 1]) == 0.25
    assert chance([2, 2, 1], [2, 2]) == 1.0


# ---- baselines on planted signal ----------------------------------------------------------------
def test_tfidf_learns_planted_signal(planted):
    texts, split, model = planted
    proba = model.predict_proba([texts[i] for i in split.test])
    card = scorecard(split.y[split.test], proba, split.classes)
    base = chance(split.y[split.train], split.y[split.test])
    assert card["accuracy"] > 0.85 and card["accuracy"] > base + 0.4
    assert model.coef.dtype == np.float32 and model.coef.shape == (3, len(model.vocabulary))


def test_mean_vectors_learn_planted_signal():
    texts, labels = planted_corpus()
    split = make_split(labels, SplitConfig(validation=0))
    embed = mean_embed(word_table())
    model = train_mean_vectors([texts[i] for i in split.train], split.y[split.train], split.classes, embed)
    proba = model.predict_proba([texts[i] for i in split.test], embed=embed)
    accuracy = float(np.mean(predict(proba) == split.y[split.test]))
    assert accuracy > chance(split.y[split.train], split.y[split.test]) + 0.4
    with pytest.raises(ValueError):
        model.predict_proba(["pasta"])


def test_shuffled_labels_stay_near_chance():
    texts, labels = planted_corpus()
    labels = list(np.random.default_rng(7).permutation(labels))
    split = make_split(labels, SplitConfig())
    parts = [set(split.train), set(split.validation), set(split.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set().union(*parts) == set(range(len(labels)))
    assert len(split.test) == 60 and len(split.validation) == 30
    model = train_tfidf([texts[i] for i in split.train], split.y[split.train], split.classes)
    accuracy = float(np.mean(predict(model.predict_proba([texts[i] for i in split.test])) == split.y[split.test]))
    assert accuracy < chance(split.y[split.train], split.y[split.test]) + 0.15


def test_split_is_stratified_reproducible_and_json_safe():
    _, labels = planted_corpus(n=120)
    a, b = make_split(labels, SplitConfig(seed=5)), make_split(labels, SplitConfig(seed=5))
    assert (a.test == b.test).all() and a.classes == CLASSES
    balance = a.balance()
    assert set(balance["test"].values()) == {8} and sum(balance["train"].values()) == len(a.train)
    again = Split.from_dict(json.loads(json.dumps(a.to_dict())))
    assert (again.train == a.train).all() and (again.y == a.y).all() and again.balance() == balance
    assert not (make_split(labels, SplitConfig(seed=6)).test == a.test).all()


# ---- storage ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(40))
def test_the_stratified_split_is_sklearns_draw_for_draw(seed):
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 7))
    y = np.repeat(np.arange(classes), rng.integers(2, 40, size=classes))  # unbalanced, ties in the counts
    rng.shuffle(y)
    able = np.sort(rng.choice(10_000, size=len(y), replace=False))
    size = int(rng.integers(classes, len(y) - classes + 1))
    want_rest, want_taken = train_test_split(able, test_size=size, stratify=y, random_state=seed)
    rest, taken = _stratified_shuffle(able, y, size, seed)
    assert sorted(taken.tolist()) == sorted(want_taken.tolist()) and len(taken) == size
    assert sorted(rest.tolist()) == sorted(want_rest.tolist())


def test_round_trip_without_pickle(planted, tmp_path):
    texts, split, model = planted
    model.save(tmp_path / "tfidf")
    files = sorted(p.name for p in (tmp_path / "tfidf").iterdir())
    assert files == ["coef.npy", "idf.npy", "intercept.npy", "linear.json"]
    for name in ("coef.npy", "idf.npy", "intercept.npy"):
        np.load(tmp_path / "tfidf" / name, allow_pickle=False)
    again = LinearModel.load(tmp_path / "tfidf")
    sample = [texts[i] for i in split.test] + ["an unseen text about pasta", ""]
    np.testing.assert_allclose(again.predict_proba(sample), model.predict_proba(sample), atol=1e-6)
    assert again.explain(texts[0]) == model.explain(texts[0])

    embed = mean_embed(word_table())
    vec = train_mean_vectors(texts[:90], np.arange(90) % 3, CLASSES, embed)
    vec.save(tmp_path / "vec")
    assert not list((tmp_path / "vec").glob("*.pkl")) and not list((tmp_path / "vec").glob("*.joblib"))
    np.testing.assert_allclose(LinearModel.load(tmp_path / "vec").predict_proba(texts, embed), vec.predict_proba(texts, embed),
                               atol=1e-6)
    (tmp_path / "vec" / "coef.npy").unlink()
    with pytest.raises(UserError):
        LinearModel.load(tmp_path / "vec")


def test_binary_model_round_trip_and_sign(tmp_path):
    texts, labels = planted_corpus(n=200)
    keep = [i for i, label in enumerate(labels) if label != "tech"]
    texts, y = [texts[i] for i in keep], np.array([CLASSES.index(labels[i]) for i in keep])
    model = train_tfidf(texts, y, ["food", "sport"])
    assert model.coef.shape[0] == 1
    model.save(tmp_path / "m")
    np.testing.assert_allclose(LinearModel.load(tmp_path / "m").predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    food = dict(model.explain("pasta word1 goal", target=0))
    sport = dict(model.explain("pasta word1 goal", target=1))
    assert food["pasta"] > 0 > food["goal"] and sport["goal"] > 0 > sport["pasta"]


# ---- explanations -------------------------------------------------------------------------------
def test_explain_ranks_planted_words_first(planted):
    texts, split, model = planted
    text = "word3 pasta word7 garlic word11 word3 oven"
    pairs = model.explain(text)
    assert [t for t, _ in pairs] == text.split()
    assert model.classes[int(np.argmax(model.predict_proba([text])[0]))] == "food"
    best = sorted(pairs, key=lambda p: -p[1])[:3]
    assert {t for t, _ in best} == {"pasta", "garlic", "oven"} and all(c > 0 for _, c in best)
    x = model.vectorizer().transform([text])
    score = float((x @ model.coef[0].astype(float))[0])
    assert sum(c for _, c in pairs) == pytest.approx(score, abs=1e-6)
    two = [t for t, _ in model.explain(text, top=2)]
    assert len(two) == 2 and set(two) <= {"pasta", "garlic", "oven"} and two == sorted(two, key=text.split().index)

    table = word_table()
    embed = mean_embed(table)
    vec = train_mean_vectors(texts, np.array([CLASSES.index(c) for c in [CLASSES[i % 3] for i in range(300)]]), CLASSES, embed)
    pairs = vec.explain("word3 striker word9 goal", word_vector=table.get, tokenize=str.split)
    assert [t for t, _ in pairs] == ["word3", "striker", "word9", "goal"]
    assert {t for t, _ in sorted(pairs, key=lambda p: -p[1])[:2]} == {"striker", "goal"}
    assert vec.explain("unknown words only", word_vector=table.get, tokenize=str.split)[0][1] == 0.0


# ---- bad input ----------------------------------------------------------------------------------
def docs(labels, text="some words here"):
    return [Document(text=text, source="t", label=label) for label in labels]


def test_labelled_refuses_unusable_corpora():
    with pytest.raises(UserError, match="no labels"):
        labelled(docs([None] * 20))
    with pytest.raises(UserError, match="same label"):
        labelled(docs(["a"] * 20))
    ids = [f"id{i}" for i in range(500)] + ["x"] * 100
    with pytest.raises(UserError, match="id column"):
        labelled(docs(ids))
    with pytest.raises(UserError, match="at least 10"):
        labelled(docs(["a", "b"] * 3))
    with pytest.raises(UserError, match="between 0 and 1"):
        make_split(["a", "b"] * 10, SplitConfig(test=0))
    with pytest.raises(UserError, match="too little"):
        make_split(["a", "b"] * 10, SplitConfig(test=0.6, validation=0.4))


def test_labelled_drops_and_counts():
    documents = docs(["a", "b"] * 10) + docs([None, ""]) + docs(["a", "b", "a"], text="  \n")
    texts, labels, report = labelled(documents)
    assert len(texts) == 20 and labels[:2] == ["a", "b"]
    assert report == {"unlabelled": 2, "empty": 3}


def test_rare_class_is_flagged_not_fatal():
    labels = ["a"] * 30 + ["b"] * 30 + ["lonely"]
    split = make_split(labels, SplitConfig())
    lonely = split.classes.index("lonely")
    assert any("'lonely' has 1 document" in p for p in split.problems)
    assert split.balance()["train"]["lonely"] == 1 and split.balance()["test"]["lonely"] == 0
    assert lonely in split.y[split.train]
    tiny = make_split(["a"] * 3 + ["b"] * 3 + ["c"] * 2, SplitConfig(test=0.1, validation=0.1))
    assert len(tiny.test) >= 2 and len(tiny.validation) >= 1 and set(tiny.y[tiny.test]) == {0, 1}
    with pytest.raises(UserError, match="fewer than 3"):
        make_split(["a", "a", "b", "b"], SplitConfig())
