"""The answer pipeline: every AI text that stands on sources goes through these stages, in order.

1. retrieve: `ai_assist.retrieval` (one package: the article and ticket corpora, hybrid ranking);
2. ground (`answering.ground`): what sources the text's audience may use (the audience rule of
   `ai_assist.audience` plugs in here), ranked, and the extractive answerer's decision;
3. write (`answering.write`): the configured model, else the extractive text, with one fallback
   policy (`write`, `write_stream`);
4. check citations (`answering.citations`): the markers of the text (one parser,
   `ai_assist.ml.markers`) kept only where they name a passage the writer was shown and a source
   its audience may read now; every other marker is removed, so no text says [n] with no citation n;
5. log: `ai_assist.services.suggestion_record`.

The types passed between the stages are in `ai_assist.ml.passages`; they and the marker parser
are pure code in the lowest layer (ai_assist.ml), because the extractive answerer makes them too.
Chat (`ai_assist.chat`), draft replies, summaries and articles from tickets
(`ai_assist.agent_tools`) and gap drafts (`ai_assist.gaps`) call the stages; no stage imports its
caller, and the layers are kept by import-linter contracts (pyproject.toml).
"""
