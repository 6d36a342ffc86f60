/**
 * The page's script (served at /app.js), plain ES2020 for every current mobile browser, no build step and no
 * dependency. Kept as a string so `tsc` carries it into dist/ (tsc copies no .js assets); write it without
 * backticks or dollar-brace so it stays a valid String.raw template. test/app/browser.test.ts runs it in Chromium
 * and fails on any error the page throws, which is what catches a syntax error here.
 */
export const APP_JS = String.raw`(function () {
  'use strict';

  var TEXT = {
    fr: {
      skip: 'Aller au contenu',
      title: 'Quel est ce fruit ?',
      intro: "Prenez un fruit en photo : l'application vous dit ce que c'est et vous raconte son histoire.",
      take: 'Prendre une photo',
      choose: 'Choisir une image',
      drop: '… ou déposez une image ici.',
      switchTo: 'English',
      switchLabel: 'Switch to English',
      previewAlt: 'Votre photo',
      regionCaption: 'Encadré : la partie de la photo reconnue.',
      analysing: 'Analyse de la photo…',
      shrinking: 'Photo volumineuse : réduction avant envoi…',
      probably: "C'est probablement",
      notSure: 'Pas sûr…',
      notSureDetail: 'Je ne reconnais pas bien ce fruit. Essayez une photo nette d’un seul fruit, en gros plan, sur un fond uni.',
      bestGuess: 'Meilleure piste',
      confidence: 'Confiance',
      alternatives: 'Autres possibilités',
      scientificName: 'Nom scientifique',
      family: 'Famille',
      kind: 'Type',
      variety: 'Variété',
      origin: 'Origine',
      season: 'Saison en Europe',
      inSeason: 'En saison',
      noSeason: 'Importé ou vendu toute l’année',
      nutrition: 'Valeurs nutritionnelles pour 100\u00a0g',
      biodiversity: 'Biodiversité',
      noCard: 'Pas encore de fiche pour ce fruit.',
      guessCard: 'Fiche de la meilleure piste, à prendre avec prudence :',
      wrong: "Ce n'est pas ça ? Dites-nous le bon fruit",
      rightFruit: 'Le bon fruit',
      other: 'Autre / pas dans la liste',
      note: 'Remarque (facultatif)',
      send: 'Envoyer la correction',
      sending: 'Envoi…',
      thanks: 'Merci ! Votre photo aidera la prochaine version.',
      privacy: "La photo n'est conservée que si vous envoyez une correction ; elle est enregistrée sans ses métadonnées (ni lieu ni appareil) pour améliorer la prochaine version.",
      credits: 'Images de référence : Fruits-360 (H. Mureșan, M. Oltean, licence MIT). Modèle : MobileNetV2 (ImageNet).',
      api: 'API (OpenAPI)',
      months: ['janv.', 'févr.', 'mars', 'avr.', 'mai', 'juin', 'juil.', 'août', 'sept.', 'oct.', 'nov.', 'déc.'],
      monthNames: ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'],
      nutrients: { energyKcal: ['Énergie', 'kcal'], waterG: ['Eau', 'g'], carbohydrateG: ['Glucides', 'g'], sugarsG: ['dont sucres', 'g'], fiberG: ['Fibres', 'g'], proteinG: ['Protéines', 'g'], fatG: ['Lipides', 'g'], vitaminCMg: ['Vitamine C', 'mg'] },
      kinds: { fruit: 'fruit', vegetable: 'légume', nut: 'fruit à coque', berry: 'baie', herb: 'herbe aromatique' },
      errors: {
        'empty-upload': 'La photo est vide.',
        'missing-photo': 'Aucune photo reçue.',
        'too-large': 'La photo est trop lourde.',
        'not-an-image': "Ce fichier n'est pas une image (JPEG, PNG ou WebP).",
        'unsupported-image': "Ce format d'image n'est pas pris en charge.",
        'too-many-pixels': "L'image a trop de pixels.",
        'corrupt-image': "L'image est abîmée et ne peut pas être lue.",
        'rate-limited': 'Trop de photos en peu de temps. Réessayez dans quelques secondes.',
        busy: 'Le serveur est très occupé. Réessayez dans quelques secondes.',
        timeout: 'Le serveur est très occupé. Réessayez dans quelques secondes.',
        'invalid-feedback': 'Correction invalide.',
        'feedback-full': "Les corrections ne peuvent plus être enregistrées pour l'instant (espace plein).",
        network: 'Connexion impossible. Vérifiez votre réseau et réessayez.',
        other: 'Une erreur est survenue. Réessayez.'
      },
      colon: '\u00a0: ',
      percent: function (p) { return p + '\u00a0%'; }
    },
    en: {
      skip: 'Skip to content',
      title: 'What fruit is this?',
      intro: 'Take a photo of a fruit: the app tells you what it is and tells you its story.',
      take: 'Take a photo',
      choose: 'Choose an image',
      drop: '… or drop an image here.',
      switchTo: 'Français',
      switchLabel: 'Passer en français',
      previewAlt: 'Your photo',
      regionCaption: 'Outlined: the part of the photo that was recognised.',
      analysing: 'Looking at the photo…',
      shrinking: 'Large photo: shrinking it before sending…',
      probably: 'This is probably',
      notSure: 'Not sure…',
      notSureDetail: 'I do not recognise this fruit well. Try a sharp close-up of a single fruit on a plain background.',
      bestGuess: 'Best guess',
      confidence: 'Confidence',
      alternatives: 'Other possibilities',
      scientificName: 'Scientific name',
      family: 'Family',
      kind: 'Kind',
      variety: 'Variety',
      origin: 'Origin',
      season: 'Season in Europe',
      inSeason: 'In season',
      noSeason: 'Imported or sold all year',
      nutrition: 'Nutrition per 100\u00a0g',
      biodiversity: 'Biodiversity',
      noCard: 'No card for this fruit yet.',
      guessCard: 'Card of the best guess, to be taken with caution:',
      wrong: 'Wrong? Tell us the right fruit',
      rightFruit: 'The right fruit',
      other: 'Other / not in the list',
      note: 'Note (optional)',
      send: 'Send the correction',
      sending: 'Sending…',
      thanks: 'Thank you! Your photo will help the next version.',
      privacy: 'The photo is only kept if you send a correction; it is stored without its metadata (no location, no device) to improve the next version.',
      credits: 'Reference images: Fruits-360 (H. Mureșan, M. Oltean, MIT licence). Model: MobileNetV2 (ImageNet).',
      api: 'API (OpenAPI)',
      months: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
      monthNames: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'],
      nutrients: { energyKcal: ['Energy', 'kcal'], waterG: ['Water', 'g'], carbohydrateG: ['Carbohydrate', 'g'], sugarsG: ['of which sugars', 'g'], fiberG: ['Fibre', 'g'], proteinG: ['Protein', 'g'], fatG: ['Fat', 'g'], vitaminCMg: ['Vitamin C', 'mg'] },
      kinds: {},
      errors: {
        'empty-upload': 'The photo is empty.',
        'missing-photo': 'No photo received.',
        'too-large': 'The photo is too large.',
        'not-an-image': 'This file is not an image (JPEG, PNG or WebP).',
        'unsupported-image': 'This image format is not supported.',
        'too-many-pixels': 'The image has too many pixels.',
        'corrupt-image': 'The image is damaged and cannot be read.',
        'rate-limited': 'Too many photos in a short time. Try again in a few seconds.',
        busy: 'The server is very busy. Try again in a few seconds.',
        timeout: 'The server is very busy. Try again in a few seconds.',
        'invalid-feedback': 'Invalid correction.',
        'feedback-full': 'Corrections cannot be stored for now (storage full).',
        network: 'Cannot connect. Check your network and try again.',
        other: 'Something went wrong. Try again.'
      },
      colon: ': ',
      percent: function (p) { return p + '%'; }
    }
  };

  var STORAGE_KEY = 'fruits.lang';
  var main = document.getElementById('main');
  var maxUpload = Number(main.getAttribute('data-max-upload')) || 10485760;
  var el = function (id) { return document.getElementById(id); };
  var state = { lang: readLang(), answer: null, photo: null, classes: null, busy: false };

  function readLang() {
    try {
      var saved = window.localStorage.getItem(STORAGE_KEY);
      if (saved === 'fr' || saved === 'en') return saved;
    } catch (e) { /* private mode: no storage, French by default */ }
    return 'fr';
  }

  function t(key) { return TEXT[state.lang][key]; }

  function make(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'className') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  function pick(names) {
    if (!names) return '';
    if (typeof names === 'string') return names;
    if (names.names) return pick(names.names);
    if (names.name) return pick(names.name);
    return names[state.lang] || names.en || names.fr || '';
  }

  function other(names) {
    if (!names || typeof names === 'string') return '';
    var n = names.names || names;
    return state.lang === 'fr' ? n.en || '' : n.fr || '';
  }

  function number(value) {
    return new Intl.NumberFormat(state.lang === 'fr' ? 'fr-FR' : 'en-GB', { maximumFractionDigits: 1 }).format(value);
  }

  function percent(score) {
    return score > 0 && score < 0.005 ? '<\u00a0' + t('percent')(1) : t('percent')(Math.round(score * 100));
  }

  // ---- language ----
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (node) {
      var value = t(node.getAttribute('data-i18n'));
      if (typeof value === 'string') node.textContent = value;
    });
    var button = el('lang');
    button.textContent = t('switchTo');
    button.setAttribute('lang', state.lang === 'fr' ? 'en' : 'fr');
    button.setAttribute('aria-label', t('switchLabel'));
    el('preview').alt = t('previewAlt');
    fillClasses();
    if (state.answer) render(state.answer, false);
  }

  el('lang').addEventListener('click', function () {
    state.lang = state.lang === 'fr' ? 'en' : 'fr';
    try { window.localStorage.setItem(STORAGE_KEY, state.lang); } catch (e) { /* ignore */ }
    applyLanguage();
  });

  // ---- choosing a photo ----
  ['camera', 'file'].forEach(function (id) {
    el(id).addEventListener('change', function (event) {
      var file = event.target.files && event.target.files[0];
      if (file) identify(file);
      event.target.value = '';
    });
  });

  var drop = el('drop');
  ['dragenter', 'dragover'].forEach(function (type) {
    drop.addEventListener(type, function (event) { event.preventDefault(); drop.classList.add('dragging'); });
  });
  ['dragleave', 'drop'].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove('dragging'); });
  });
  drop.addEventListener('drop', function (event) {
    event.preventDefault();
    var file = event.dataTransfer && event.dataTransfer.files && event.dataTransfer.files[0];
    if (file) identify(file);
  });
  // A file dropped next to the zone must not navigate away from the page.
  window.addEventListener('dragover', function (event) { event.preventDefault(); });
  window.addEventListener('drop', function (event) { event.preventDefault(); });

  // Re-encodes a photo the browser can read (too large, or a format the server refuses such as HEIC) as JPEG.
  function toJpeg(file, maxSide) {
    return createImageBitmap(file, { imageOrientation: 'from-image' }).then(function (bitmap) {
      var scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement('canvas');
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) { blob ? resolve(blob) : reject(new Error('toBlob')); }, 'image/jpeg', 0.9);
      });
    });
  }

  function post(url, form) {
    return fetch(url, { method: 'POST', body: form }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = new Error((body.error && body.error.message) || response.statusText);
          error.code = (body.error && body.error.code) || 'other';
          throw error;
        }
        return body;
      });
    }, function () {
      var error = new Error('network');
      error.code = 'network';
      throw error;
    });
  }

  function identify(file) {
    if (state.busy) return;
    state.busy = true;
    state.answer = null;
    hide('answer'); hide('card'); hide('alternatives'); hide('feedback'); hide('error');
    renderRegion(undefined);
    var preview = el('preview');
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    show('preview-box');
    var ready = Promise.resolve(file);
    if (file.size > maxUpload) {
      status(t('shrinking'));
      ready = toJpeg(file, 2048);
    }
    ready.then(function (photo) {
      status(t('analysing'));
      return send(photo).catch(function (error) {
        // HEIC and other formats only the browser decodes: retry once as JPEG.
        if (error.code === 'not-an-image' || error.code === 'unsupported-image') {
          return toJpeg(file, 2048).then(send, function () { throw error; });
        }
        throw error;
      });
    }).then(function (answer) {
      state.answer = answer;
      render(answer, true);
    }, function (error) {
      status('');
      showError(error);
    }).then(function () { state.busy = false; });
  }

  function send(photo) {
    state.photo = photo;
    var form = new FormData();
    form.append('photo', photo, photo.name || 'photo.jpg');
    return post('/api/identify', form);
  }

  // ---- rendering ----
  function show(id) { el(id).hidden = false; }
  function hide(id) { el(id).hidden = true; }
  function status(text) { el('status').textContent = text; }

  function showError(error) {
    var messages = t('errors');
    var box = el('error');
    box.textContent = messages[error.code] || messages.other;
    if (error.code && error.code !== 'network' && error.message && !messages[error.code]) box.textContent += ' (' + error.message + ')';
    show('error');
  }

  function render(answer, fresh) {
    var top = answer.predictions[0];
    var name = top ? pick(top.label) : '?';
    var box = el('answer');
    box.className = 'answer' + (answer.notSure ? ' unsure' : '');
    el('answer-title').textContent = answer.notSure ? t('notSure') : name;
    el('meter-bar').style.width = top ? Math.round(top.score * 100) + '%' : '0';
    var colon = t('colon');
    el('answer-detail').textContent = answer.notSure
      ? t('notSureDetail') + (top ? ' ' + t('bestGuess') + colon + name + ' (' + percent(top.score) + ').' : '')
      : t('confidence') + colon + percent(top.score);
    status('');
    show('answer');
    renderRegion(answer.region);
    renderCard(answer.fruit, top, answer.notSure);
    renderAlternatives(answer.predictions.slice(1));
    fillClasses();
    show('feedback');
    if (fresh) {
      el('feedback-status').textContent = '';
      el('feedback-details').open = false;
      var still = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
      box.scrollIntoView({ block: 'start', behavior: still ? 'auto' : 'smooth' });
    }
  }

  function row(term, value) {
    if (value === undefined || value === null || value === '') return [];
    return [make('dt', { text: term }), make('dd', {}, [value])];
  }

  // The crop of the photo that backs the answer (a fruit in a pile), outlined on the preview.
  function renderRegion(region) {
    var box = el('region');
    if (!region) {
      box.hidden = true;
      el('region-caption').hidden = true;
      return;
    }
    box.style.left = region.x * 100 + '%';
    box.style.top = region.y * 100 + '%';
    box.style.width = region.width * 100 + '%';
    box.style.height = region.height * 100 + '%';
    box.hidden = false;
    el('region-caption').textContent = t('regionCaption');
    el('region-caption').hidden = false;
  }

  function renderCard(fruit, top, unsure) {
    var card = el('card');
    card.textContent = '';
    if (unsure && top) card.appendChild(make('p', { className: 'other-name', text: t('guessCard') }));
    if (!fruit) {
      if (!top) { hide('card'); return; }
      card.appendChild(make('h2', { id: 'card-title', text: pick(top.label) }));
      card.appendChild(make('p', { text: t('noCard') }));
      show('card');
      return;
    }
    card.appendChild(make('h2', { id: 'card-title', text: pick(fruit.names) }));
    card.appendChild(make('p', { className: 'other-name', lang: state.lang === 'fr' ? 'en' : 'fr', text: other(fruit.names) }));
    var facts = make('dl');
    var sci = fruit.scientificName ? make('i', { lang: 'la', text: fruit.scientificName }) : null;
    var kinds = t('kinds');
    var origin = state.lang === 'fr' ? fruit.originFr || fruit.origin : fruit.origin;
    var variety = fruit.variety ? pick(fruit.variety) : '';
    [].concat(
      row(t('scientificName'), sci),
      row(t('family'), fruit.family ? make('span', { lang: 'la', text: fruit.family }) : null),
      row(t('kind'), fruit.kind ? (kinds[fruit.kind] || fruit.kind) : null),
      row(t('variety'), variety || null),
      row(t('origin'), origin)
    ).forEach(function (n) { facts.appendChild(n); });
    card.appendChild(facts);

    card.appendChild(make('h3', { text: t('season') }));
    var months = fruit.seasonEurope || [];
    if (months.length) {
      var names = t('monthNames');
      card.appendChild(make('p', { className: 'visually-hidden', text: t('inSeason') + t('colon') + months.map(function (m) { return names[m - 1]; }).join(', ') }));
      var list = make('ol', { className: 'months', 'aria-hidden': 'true' });
      t('months').forEach(function (label, i) {
        list.appendChild(make('li', { className: months.indexOf(i + 1) >= 0 ? 'on' : 'off', text: label }));
      });
      card.appendChild(list);
    } else {
      card.appendChild(make('p', { text: t('noSeason') }));
    }

    var nutrition = fruit.nutritionPer100g || {};
    var nutrients = t('nutrients');
    var keys = Object.keys(nutrients).filter(function (k) { return typeof nutrition[k] === 'number'; });
    if (keys.length) {
      card.appendChild(make('h3', { id: 'nutrition-title', text: t('nutrition') }));
      var table = make('table', { className: 'nutrition', 'aria-labelledby': 'nutrition-title' });
      var body = make('tbody');
      keys.forEach(function (k) {
        body.appendChild(make('tr', {}, [make('th', { scope: 'row', text: nutrients[k][0] }), make('td', { text: number(nutrition[k]) + '\u00a0' + nutrients[k][1] })]));
      });
      table.appendChild(body);
      card.appendChild(table);
    }
    if (fruit.biodiversity) {
      card.appendChild(make('h3', { text: t('biodiversity') }));
      card.appendChild(make('p', { text: pick(fruit.biodiversity) }));
    }
    show('card');
  }

  function renderAlternatives(list) {
    var ol = el('alt-list');
    ol.textContent = '';
    list.forEach(function (p) { ol.appendChild(make('li', { text: pick(p.label) + ' — ' + percent(p.score) })); });
    el('alternatives').hidden = list.length === 0;
  }

  // ---- feedback ----
  function loadClasses() {
    fetch('/api/fruits').then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
      if (body && body.classes) { state.classes = body.classes; fillClasses(); }
    }, function () { /* the select stays empty until the next answer */ });
  }

  function fillClasses() {
    var select = el('correct');
    var chosen = select.value || (state.answer && state.answer.predictions[0] ? state.answer.predictions[0]['class'] : '');
    select.textContent = '';
    var entries = (state.classes || []).map(function (c) { return { value: c['class'], text: pick(c.label) + (pick(c.label) === c['class'] ? '' : ' (' + c['class'] + ')') }; });
    entries.sort(function (a, b) { return a.text.localeCompare(b.text, state.lang); });
    entries.push({ value: 'other', text: t('other') });
    entries.forEach(function (e) { select.appendChild(make('option', { value: e.value, text: e.text })); });
    if (chosen) select.value = chosen;
  }

  el('feedback-form').addEventListener('submit', function (event) {
    event.preventDefault();
    if (!state.photo) return;
    var out = el('feedback-status');
    out.textContent = t('sending');
    var form = new FormData();
    form.append('photo', state.photo, state.photo.name || 'photo.jpg');
    form.append('correctClass', el('correct').value);
    var top = state.answer && state.answer.predictions[0];
    if (top) form.append('predictedClass', top['class']);
    var note = el('note').value.trim();
    if (note) form.append('note', note);
    form.append('lang', state.lang);
    post('/api/feedback', form).then(function () { out.textContent = t('thanks'); el('note').value = ''; }, function (error) {
      var messages = t('errors');
      out.textContent = messages[error.code] || messages.other;
    });
  });

  applyLanguage();
  loadClasses();
})();
`;
