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
.cite-card.active, .cite-card:target {box-shadow: 0 0 0 3px #f59e0b; }
.card-head {display: flex; gap: 8px; align-items: baseline;}
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
.article-view .article-text p {line-height: 1.8;}
.upload-report li.bad {color: #b91c1c;} .upload-report li.good {color: #15803d;}
.stats td, .stats th {padding: 2px 10px; text-align: left;}
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
  card.classList.add('active');
  card.scrollIntoView({behavior: 'smooth', block: 'center'});
});
"""
