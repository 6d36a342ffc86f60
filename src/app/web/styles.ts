/** The page's stylesheet (served at /styles.css). Mobile first: one column, big touch targets; no web fonts. */
export const STYLES_CSS = String.raw`
:root {
  --bg: #fbfbf7; --fg: #1a1a1a; --muted: #4a4a4a; --card: #ffffff; --line: #d9d9d0;
  --accent: #1b5e20; --accent-fg: #ffffff; --accent-soft: #e8f5e9;
  --warn-bg: #fff3cd; --warn-fg: #4d3800; --error-bg: #fdecea; --error-fg: #7a1410;
  --focus: #0b57d0; --radius: 14px;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #121412; --fg: #ececec; --muted: #c4c4c4; --card: #1c1f1c; --line: #3a3f3a;
    --accent: #9ad39e; --accent-fg: #0d1f0e; --accent-soft: #1f3320;
    --warn-bg: #3b2f00; --warn-fg: #ffe6a0; --error-bg: #3d1412; --error-fg: #ffd2cc; --focus: #8ab4f8;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 1.0625rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.skip { position: absolute; left: -999px; top: 0; background: var(--card); color: var(--fg); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; top: .5rem; }
.top {
  display: flex; align-items: center; justify-content: space-between; gap: .75rem;
  padding: .75rem 1rem; background: var(--accent); color: var(--accent-fg);
}
.top h1 { font-size: 1.25rem; margin: 0; line-height: 1.2; }
main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
.intro { color: var(--muted); margin-top: 0; }
.visually-hidden {
  position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.button {
  display: inline-flex; align-items: center; justify-content: center; gap: .5rem;
  min-height: 48px; padding: .6rem 1.1rem; border-radius: 999px; border: 2px solid var(--accent);
  background: var(--card); color: var(--fg); font: inherit; font-weight: 600; cursor: pointer; text-decoration: none;
}
.icon { flex: none; }
.button.primary { background: var(--accent); color: var(--accent-fg); }
.top .button { border-color: var(--accent-fg); background: transparent; color: var(--accent-fg); min-height: 44px; padding: .4rem .9rem; }
:focus-visible, .drop label:has(+ input:focus-visible) { outline: 3px solid var(--focus); outline-offset: 3px; }
.drop {
  display: flex; flex-direction: column; align-items: stretch; gap: .75rem;
  padding: 1rem; border: 2px dashed var(--line); border-radius: var(--radius); background: var(--card);
}
.drop.dragging { border-color: var(--accent); background: var(--accent-soft); }
.drop .hint { margin: 0; text-align: center; color: var(--muted); font-size: .95rem; }
@media (min-width: 34rem) { .drop { flex-direction: row; flex-wrap: wrap; justify-content: center; } .drop .hint { flex-basis: 100%; } }
figure { margin: 1rem 0 0; }
/* The frame shrinks to the image, so the recognised region (percentages of the photo) lands on it exactly. */
.preview-frame { position: relative; width: fit-content; max-width: 100%; margin: 0 auto; }
#preview { display: block; max-width: 100%; min-height: 8rem; max-height: 35vh; border-radius: var(--radius); background: var(--card); }
.region { position: absolute; border: 3px solid #ffd400; border-radius: 6px; box-shadow: 0 0 0 2px rgba(0,0,0,.55); pointer-events: none; }
#region-caption { text-align: center; color: var(--muted); font-size: .9rem; margin-top: .25rem; }
#result { margin-top: 1rem; }
#status { color: var(--muted); margin: .5rem 0; min-height: 1.5em; }
.answer { padding: 1rem; border-radius: var(--radius); background: var(--card); border: 1px solid var(--line); }
.answer h2 { margin: 0 0 .25rem; font-size: 1.5rem; line-height: 1.25; }
.answer.unsure { background: var(--warn-bg); color: var(--warn-fg); border-color: transparent; }
.answer p { margin: .25rem 0; }
.meter { height: .6rem; border-radius: 999px; background: var(--line); overflow: hidden; margin: .5rem 0 .25rem; }
.meter > span { display: block; height: 100%; background: var(--accent); }
.error { padding: .75rem 1rem; border-radius: var(--radius); background: var(--error-bg); color: var(--error-fg); }
.card { margin-top: 1rem; padding: 1rem; border-radius: var(--radius); background: var(--card); border: 1px solid var(--line); }
.card h2 { margin: 0; font-size: 1.3rem; }
.card h2::first-letter, .card .other-name::first-letter { text-transform: uppercase; }
.card .other-name { margin: .1rem 0 .75rem; color: var(--muted); }
.card dl { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
.card dt { font-weight: 600; }
.card dd { margin: 0; }
.card h3 { font-size: 1.05rem; margin: 1.1rem 0 .4rem; }
.months { display: grid; grid-template-columns: repeat(6, 1fr); gap: .25rem; padding: 0; margin: 0; list-style: none; }
@media (min-width: 30rem) { .months { grid-template-columns: repeat(12, 1fr); } }
.months li { text-align: center; font-size: .8rem; padding: .3rem 0; border-radius: 6px; border: 1px solid var(--line); color: var(--muted); }
.months li.on { background: var(--accent); border-color: var(--accent); color: var(--accent-fg); font-weight: 700; }
table.nutrition { width: 100%; border-collapse: collapse; }
table.nutrition th, table.nutrition td { padding: .3rem 0; border-bottom: 1px solid var(--line); text-align: left; }
table.nutrition td { text-align: right; font-variant-numeric: tabular-nums; }
.alternatives ol { padding-left: 1.25rem; margin: .25rem 0; }
.alternatives li { margin: .2rem 0; }
.feedback { margin-top: 1rem; }
.feedback summary { cursor: pointer; font-weight: 600; min-height: 44px; display: flex; align-items: center; }
.feedback form { display: grid; gap: .5rem; margin-top: .5rem; }
.feedback select, .feedback input[type=text] {
  font: inherit; min-height: 44px; padding: .4rem .6rem; border-radius: 8px; border: 1px solid var(--muted);
  background: var(--card); color: var(--fg); width: 100%;
}
.privacy, footer { color: var(--muted); font-size: .875rem; }
footer { max-width: 40rem; margin: 2rem auto 1rem; padding: 0 1rem; }
footer a, main a { color: inherit; }
@media (prefers-reduced-motion: no-preference) { .meter > span { transition: width .4s ease; } }
`;
