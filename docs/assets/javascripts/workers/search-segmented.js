// The site's search worker: Material's own worker (named in this script's URL, ?material=...)
// with two changes around it, made by docs/overrides/hooks/search_index.py's index:
//  - Chinese queries are split into the words the index holds (jieba's words, built at build time)
//    before Material sees them. Material's segmenter never matches a word that ends the query, so
//    反向传播 became 反向 + 传* and found the wrong pages. Each word is followed by 〇, a character
//    Material's segmenter then drops, so it keeps the word whole.
//  - When the query is a glossary term, the page that teaches it (the index's "glossary" table)
//    comes first.
(function () {
  "use strict";
  const SETUP = 0, QUERY = 2, RESULT = 3;
  const HAN = /\p{sc=Han}+/gu;
  const END = "\u3007";
  let words = new Set(), longest = 1, glossary = {}, pages = new Map(), separator = /[\s\u200b]+/;
  let lastQuery = "";

  function normalize(query) {
    return query.toLowerCase().replace(/[\s\-]+/g, " ").trim();
  }

  function learn(index) {
    separator = new RegExp(index.config.separator, "g");
    glossary = index.glossary || {};
    words = new Set();
    for (const doc of index.docs) {
      if (!doc.location.includes("#")) pages.set(doc.location, doc);
      for (const field of ["title", "text", "terms"]) {
        for (const token of String(doc[field] || "").split(separator)) {
          for (const run of token.match(HAN) || []) {
            words.add(run);
            if (run.length > longest) longest = Math.min(run.length, 12);
          }
        }
      }
    }
  }

  // Fewest known words that cover the run; characters the index lacks are dropped.
  function segment(run) {
    const best = [{ cost: 0, words: [] }];
    for (let end = 1; end <= run.length; end++) {
      let choice = { cost: best[end - 1].cost + 1, words: best[end - 1].words };  // drop run[end - 1]
      for (let start = Math.max(0, end - longest); start < end; start++) {
        const word = run.slice(start, end);
        if (words.has(word) && best[start].cost + 1 <= choice.cost) {
          choice = { cost: best[start].cost + 1, words: [...best[start].words, word] };
          break;  // the longest word ending here
        }
      }
      best.push(choice);
    }
    return best[run.length].words;
  }

  function rewrite(query) {
    return query.replace(HAN, (run) => segment(run).map((word) => word + END).join(" "));
  }

  function pin(result) {
    const target = glossary[normalize(lastQuery)];
    if (target === undefined || !result || !Array.isArray(result.items)) return result;
    const items = result.items;
    const top = Math.max(0, ...items.flat().map((doc) => doc.score || 0)) + 1;
    let at = items.findIndex((group) => group.some((doc) => doc.location === target));
    let group;
    if (at >= 0) group = items.splice(at, 1)[0];
    else if (pages.has(target)) group = [{ ...pages.get(target), score: 0, terms: {} }];
    else return result;
    items.unshift(group.map((doc) => ({ ...doc, score: doc.score + top })));
    return result;
  }

  addEventListener("message", (event) => {
    const message = event.data;
    if (message && message.type === SETUP) learn(message.data);
    if (message && message.type === QUERY && typeof message.data === "string") {
      lastQuery = message.data;
      message.data = rewrite(message.data);
    }
  });

  const post = self.postMessage.bind(self);
  self.postMessage = (message) => post(message && message.type === RESULT ? { ...message, data: pin(message.data) } : message);

  const material = new URLSearchParams(self.location.search).get("material");
  if (!/^search\.[0-9a-f]+\.min\.js$/.test(material || "")) throw new Error("unexpected search worker: " + material);
  importScripts(material);
})();
