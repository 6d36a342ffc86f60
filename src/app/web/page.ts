import { createHash } from 'node:crypto';
import { APP_JS } from './app-script.js';
import { STYLES_CSS } from './styles.js';

/** Short content hashes: the page links `/app.js?v=<hash>` so the assets can be cached for a year. */
export const ASSET_VERSION = createHash('sha256').update(APP_JS).update(STYLES_CSS).digest('hex').slice(0, 10);

const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'%3E%3Ccircle cx='32' cy='38' r='22' fill='%23c62828'/%3E" +
  "%3Cpath d='M32 16c2-8 10-10 14-9-2 6-7 9-14 9z' fill='%232e7d32'/%3E%3C/svg%3E";

/**
 * The single page, French by default (the script switches to English and remembers the choice). Everything is
 * served by the app itself: no CDN, no web font, no third-party request.
 */
export function renderPage(config: { maxUploadBytes: number }): string {
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="theme-color" content="#1b5e20">
<meta name="description" content="Prenez un fruit en photo : l'application vous dit ce que c'est et vous raconte son histoire.">
<title>Quel est ce fruit ?</title>
<link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="/styles.css?v=${ASSET_VERSION}">
<script defer src="/app.js?v=${ASSET_VERSION}"></script>
</head>
<body>
<a class="skip" href="#main" data-i18n="skip">Aller au contenu</a>
<header class="top">
  <h1 data-i18n="title">Quel est ce fruit ?</h1>
  <button id="lang" class="button" type="button" lang="en">English</button>
</header>
<main id="main" data-max-upload="${config.maxUploadBytes}">
  <p class="intro" data-i18n="intro">Prenez un fruit en photo : l'application vous dit ce que c'est et vous raconte son histoire.</p>
  <div class="drop" id="drop">
    <label class="button primary" for="camera"><svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="22" height="22"><path fill="currentColor" d="M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 5a5 5 0 1 1 0 10 5 5 0 0 1 0-10zm0 2a3 3 0 1 0 0 6 3 3 0 0 0 0-6z"/></svg><span data-i18n="take">Prendre une photo</span></label>
    <input id="camera" class="visually-hidden" type="file" accept="image/*" capture="environment">
    <label class="button" for="file"><svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="22" height="22"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm0 2v9.6l4.3-4.3a1 1 0 0 1 1.4 0l3.3 3.3 2.3-2.3a1 1 0 0 1 1.4 0L20 15.6V6H4zm11 1.5a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z"/></svg><span data-i18n="choose">Choisir une image</span></label>
    <input id="file" class="visually-hidden" type="file" accept="image/*">
    <p class="hint" data-i18n="drop">… ou déposez une image ici.</p>
  </div>
  <figure id="preview-box" hidden>
    <div class="preview-frame">
      <img id="preview" alt="">
      <div id="region" class="region" hidden></div>
    </div>
    <figcaption id="region-caption" hidden></figcaption>
  </figure>
  <section id="result" aria-live="polite">
    <p id="status"></p>
    <div id="answer" class="answer" hidden>
      <h2 id="answer-title"></h2>
      <div class="meter" aria-hidden="true"><span id="meter-bar"></span></div>
      <p id="answer-detail"></p>
    </div>
  </section>
  <div id="error" class="error" role="alert" hidden></div>
  <article id="card" class="card" hidden aria-labelledby="card-title"></article>
  <section id="alternatives" class="alternatives card" hidden aria-labelledby="alt-title">
    <h3 id="alt-title" data-i18n="alternatives">Autres possibilités</h3>
    <ol id="alt-list"></ol>
  </section>
  <section id="feedback" class="feedback card" hidden>
    <details id="feedback-details">
      <summary data-i18n="wrong">Ce n'est pas ça ? Dites-nous le bon fruit</summary>
      <form id="feedback-form">
        <label for="correct" data-i18n="rightFruit">Le bon fruit</label>
        <select id="correct" name="correctClass" required></select>
        <label for="note" data-i18n="note">Remarque (facultatif)</label>
        <input id="note" name="note" type="text" maxlength="500" autocomplete="off">
        <button class="button" type="submit" data-i18n="send">Envoyer la correction</button>
        <p id="feedback-status" role="status"></p>
        <p class="privacy" data-i18n="privacy">La photo n'est conservée que si vous envoyez une correction ; elle est enregistrée sans ses métadonnées (ni lieu ni appareil) pour améliorer la prochaine version.</p>
      </form>
    </details>
  </section>
</main>
<footer>
  <p data-i18n="credits">Images de référence : Fruits-360 (H. Mureșan, M. Oltean, licence MIT). Modèle : MobileNetV2 (ImageNet).</p>
  <p><a href="/openapi.json" data-i18n="api">API (OpenAPI)</a></p>
</footer>
</body>
</html>
`;
}
