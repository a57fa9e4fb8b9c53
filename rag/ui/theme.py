"""The app's own CSS and the small click handler for [n] markers (no corpus text in here)."""

CSS = """
#status-bar .status {font-size: .9em; padding: 6px 10px; border-radius: 8px; background: var(--background-fill-secondary);}
#status-bar .status b {font-weight: 600}
.progress {position: relative; height: 22px; border-radius: 6px; background: var(--background-fill-secondary); overflow: hidden; margin: 6px 0; border: 1px solid var(--border-color-primary);}
.progress .bar {position: absolute; left: 0; top: 0; bottom: 0; background: #4f8df5; opacity: .55; transition: width .4s;}
.progress span {position: relative; padding-left: 8px; font-size: .85em; line-height: 22px;}
.chat {display: flex; flex-direction: column; gap: 18px; padding: 4px;}
.chat.empty {align-items: center; padding: 40px 0; color: var(--body-text-color-subdued);}
.chat .welcome {font-size: 1.5em; font-weight: 600;}
.muted {color: var(--body-text-color-subdued); font-size: .9em;}
.user-msg {align-self: flex-end; margin-left: auto; max-width: 80%; width: fit-content; background: #dbeafe; color: #1e293b; padding: 8px 14px; border-radius: 14px 14px 2px 14px; white-space: pre-wrap; word-break: break-word;}
.turn {display: flex; flex-direction: column; gap: 8px;}
.answer {border: 1px solid var(--border-color-primary); border-left: 4px solid #2563eb; border-radius: 10px; padding: 10px 14px; background: var(--background-fill-primary);}
.answer .answer-text p {margin: .3em 0; line-height: 1.7;}
.answer.streaming {border-left-color: #94a3b8;}
.answer .status-line {font-size: .85em; color: var(--body-text-color-subdued);}
.caret {animation: blink 1s step-end infinite;}
@keyframes blink {50% {opacity: 0;}}
.answer.refused {border: 1px dashed #d97706; border-left: 4px solid #d97706; background: #fffbeb; color: #78350f;}
.answer.error {border: 1px solid #dc2626; border-left: 4px solid #dc2626; background: #fef2f2; color: #7f1d1d;}
.answer .badge {display: inline-block; font-size: .8em; font-weight: 600; padding: 1px 8px; border-radius: 10px; background: rgba(0,0,0,.07); margin-bottom: 4px;}
.answer .hint {font-size: .85em; margin-top: 4px; opacity: .85;}
.notice {font-size: .85em; background: #fef9c3; color: #713f12; border-radius: 6px; padding: 3px 8px; margin-bottom: 6px;}
.disagree {font-weight: 600; color: #b91c1c; margin-bottom: 6px;}
a.cite-mark {font-weight: 600; text-decoration: none; color: #2563eb; padding: 0 1px; border-radius: 4px; cursor: pointer;}
a.cite-mark:hover {background: #dbeafe;}
.cards {display: flex; flex-direction: column; gap: 8px; margin-top: 10px;}
.outlet-cols {display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; margin-top: 8px;}
.outlet-col {border-top: 3px solid #64748b; padding-top: 4px; display: flex; flex-direction: column; gap: 8px;}
.outlet-col h4 {margin: 2px 0; font-size: 1em;}
.cite-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; background: var(--background-fill-secondary); scroll-margin: 80px; transition: box-shadow .3s;}
.cite-quote {margin-top: 6px; scroll-margin: 80px;}
.cite-quote .num {font-weight: 700; color: #2563eb; margin-right: 6px;}
.cite-card.active, .cite-card:target {box-shadow: 0 0 0 3px #f59e0b; }
/* A card head is one line at any column width: number, outlet and date never break; the title takes
   what is left and ellipsizes (its full text is in its tooltip and on the linked page). */
.card-head {display: flex; flex-wrap: nowrap; gap: 8px; align-items: baseline; min-width: 0; white-space: nowrap;}
.card-head .num, .card-head .card-meta {flex: none;}
.card-head .card-meta {flex-wrap: nowrap;}
.card-head .card-title {flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; margin: 0;}
.card-head .num {font-weight: 700; color: #2563eb;}
.card-meta {display: flex; flex-wrap: wrap; gap: 8px; font-size: .85em; align-items: center;}
.card-meta .outlet {font-weight: 700; background: #e2e8f0; color: #0f172a; border-radius: 4px; padding: 0 6px;}
.card-meta .date {color: var(--body-text-color-subdued);}
.card-meta .warn {color: #b45309;}
.card-title {font-weight: 600; margin: 2px 0 4px;}
.card-title a.orig {text-decoration: none;}
.passage {font-size: .92em; line-height: 1.7;}
mark.quote {background: #fde047; color: #111; padding: 0 1px; border-radius: 2px;}
details.more summary {cursor: pointer; font-size: .85em; color: #2563eb; margin-top: 4px;}
.fulltext {max-height: 320px; overflow-y: auto; font-size: .9em; line-height: 1.7; border-top: 1px dashed var(--border-color-primary); margin-top: 4px; padding-top: 4px;}
.card-foot {font-size: .75em; color: var(--body-text-color-subdued); margin-top: 4px; word-break: break-all;}
.match {font-weight: 700; border-radius: 4px; padding: 0 6px; color: #fff; background: #64748b;}
.match-exact {background: #15803d;} .match-fuzzy {background: #b45309;} .match-semantic {background: #7c3aed;}
.score {color: var(--body-text-color-subdued);}
.earliest {background: #0ea5e9; color: #fff; border-radius: 4px; padding: 0 6px; font-weight: 600;}
.lookup {display: flex; flex-direction: column; gap: 8px;}
.article-view h3 {margin-top: 0;}
.article-view table.meta th {text-align: left; padding-right: 12px; white-space: nowrap; vertical-align: top; color: var(--body-text-color-subdued);}
/* The clean text scrolls inside a bounded box: a 70,000-character transcript must not make the page 40,000 px tall. */
.article-view .article-text {max-height: min(60vh, 560px); overflow-y: auto; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 2px 14px; background: var(--background-fill-secondary);}
.article-view .article-text p {line-height: 1.8;}
.article-view .article-length {margin: 8px 0 4px;}
.upload-report li.bad {color: #b91c1c;} .upload-report li.good {color: #15803d;}
/* Fact and count tables look like the cards (thin theme border, rounded, row rules only), not Gradio's
   default prose tables with a black grid; the selectors outrank gradio's `.prose table` rules. */
.html-container table.stats, table.stats {border-collapse: separate; border-spacing: 0; border: 1px solid var(--border-color-primary); border-radius: 8px; overflow: hidden; margin: 6px 0; padding: 0; font-size: .9em; background: var(--background-fill-primary);}
.html-container table.stats th, .html-container table.stats td, table.stats th, table.stats td {border: 0; border-bottom: 1px solid var(--border-color-primary); padding: 4px 12px; text-align: left; font-weight: normal;}
.html-container table.stats tr:last-child > *, table.stats tr:last-child > * {border-bottom: 0;}
table.stats tr:first-child th, table.stats tr > th:first-child {color: var(--body-text-color); font-weight: 600;}
table.stats tr > th:first-child {background: var(--background-fill-secondary); white-space: nowrap;}
.html-container table.meta, .html-container table.meta tr, .html-container table.meta th, .html-container table.meta td {border: 0; padding: 2px 12px 2px 0; margin-bottom: 8px;}
.html-container table.meta td {word-break: break-all;}
"""

# Runs once per chat/lookup HTML component (gr.HTML js_on_load); `element` is the component's root.
# Clicking [n] marks its card and scrolls it into view; links still work without it (#anchor).
CITE_CLICK_JS = """
element.addEventListener('click', function (ev) {
  var a = ev.target && ev.target.closest ? ev.target.closest('a.cite-mark') : null;
  if (!a) return;
  ev.preventDefault();
  var card = element.querySelector('[id="' + a.getAttribute('data-target') + '"]');
  if (!card) return;
  element.querySelectorAll('.cite-card.active').forEach(function (c) { c.classList.remove('active'); });
  (card.closest('.cite-card') || card).classList.add('active');  // a quote inside an article's card marks the card
  card.scrollIntoView({behavior: 'smooth', block: 'center'});
});
"""
