// The server's words in the page's: a browser's network error, an API field or server limit named in a refusal.
// Loaded before app.js (an accessibility review: "Failed to fetch", "max_new_tokens: ... (limits.max_new_tokens)").
"use strict";

// a request the browser could not send, or whose answer broke off: a TypeError ("Failed to fetch", "network error")
function failure(e) {
  return e instanceof TypeError ? "the server cannot be reached: stopped or restarting?" : e.message;
}

// /generate's and /predict's fields as the page's controls name them
const CONTROLS = {
  text: "Text",
  prompt: "Prompt",
  temperature: "Temperature",
  top_p: "Top-p",
  max_new_tokens: "New tokens",
  seed: "Seed",
};

// a refusal's "field: rule; field: rule" with each field the control's name, its fix the page's box, its limit
// the server's
function inPageWords(message) {
  return message
    .replace(/(^|; )(\w+)(?=: )/g, (all, start, field) => start + (CONTROLS[field] || field))
    .replace('send "allow_unknown": true', "tick \u201cRead unknown characters as [UNK]\u201d")
    .replace(/ \(limits\.\w+\)/g, " (the server's limit)");
}

// a text probably longer than the classifier reads: every tokenizer textgru trains makes at least one token a word
// (word, BPE, byte BPE, character), so more words than max_length tokens is past it (/predict does not say)
function pastMaxLength(text, maxLength) {
  if (!maxLength) return false;
  let words = 0;
  for (const _ of text.matchAll(/\S+/g)) if (++words > maxLength) return true;
  return false;
}
