from kg.segment import paragraph_of, sentence_at, split_sentences


def test_sentences_keep_offsets_and_closing_quotes():
    text = "他说：“要严查。”随后离开！\n新段落第一句；第二句"
    sents = split_sentences(text)
    assert [s.text for s in sents] == ["他说：“要严查。”", "随后离开！", "新段落第一句；", "第二句"]
    for s in sents:
        assert text[s.start:s.end] == s.text


def test_sentence_at_finds_the_sentence_of_an_offset():
    text = "甲乙。丙丁。戊"
    sents = split_sentences(text)
    assert sentence_at(sents, 0) == 0
    assert sentence_at(sents, 3) == 1
    assert sentence_at(sents, 6) == 2
    assert sentence_at(sents, 99) == -1


def test_paragraphs_count_newlines():
    text = "一。二。\n三。\n\n四。"
    sents = split_sentences(text)
    assert paragraph_of(text, sents) == [0, 0, 1, 3]
