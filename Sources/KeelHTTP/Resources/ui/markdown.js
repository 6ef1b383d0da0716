// Markdown for model output, rendered safely: the text is parsed here and built with DOM calls
// (`el`), never handed to the HTML parser, so whatever markup a model writes stays text. Links
// keep only http(s) and mailto URLs; images become links (the page loads nothing a model names).
// The subset is what models write: fenced code, headings, lists, quotes, tables, rules, emphasis,
// code spans, links. Nesting is cut off at MAX_DEPTH so hostile input cannot exhaust the stack,
// and a reply longer than MAX_CHARS is shown as plain text: the inline patterns backtrack, and a
// long hostile reply re-rendered on every streamed chunk could freeze the tab.
import { el } from "./dom.js";

const MAX_DEPTH = 8;
const MAX_CHARS = 100_000;
const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+.#-]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;
const INLINE = new RegExp([
  "(`+)([^`]|[^`][\\s\\S]*?[^`])\\1(?!`)", // 1, 2: code span
  "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*", // 3: strong
  "(?<![\\p{L}\\p{N}])__(?=\\S)([\\s\\S]*?\\S)__(?![\\p{L}\\p{N}])", // 4: strong
  "~~(?=\\S)([\\s\\S]*?\\S)~~", // 5: strikethrough
  "\\*(?=[^\\s*])([\\s\\S]*?[^\\s*])\\*", // 6: emphasis
  "(?<![\\p{L}\\p{N}])_(?=[^\\s_])([\\s\\S]*?[^\\s_])_(?![\\p{L}\\p{N}])", // 7: emphasis
  "(!?)\\[([^\\]\\n]*)\\]\\(\\s*<?([^\\s()<>]+)>?(?:\\s+\"[^\"\\n]*\")?\\s*\\)", // 8, 9, 10: link or image
  "(https?:\\/\\/[^\\s<>()]*[^\\s<>().,;:!?'\"\\]])", // 11: bare URL
].join("|"), "gu");

// A URL a link may point to, or null: absolute http(s) or mailto only.
function safeURL(text) {
  try {
    const url = new URL(text);
    return ["http:", "https:", "mailto:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function link(href, children) {
  return el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, children);
}

function inline(text, depth) {
  if (depth > MAX_DEPTH) return [text];
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) nodes.push(text.slice(last, match.index));
    last = match.index + match[0].length;
    const [whole, , code, strong, strongAlt, struck, em, emAlt, bang, label, target, bare] = match;
    if (code !== undefined) nodes.push(el("code", {}, code.length > 2 && code.startsWith(" ") && code.endsWith(" ") ? code.slice(1, -1) : code));
    else if (strong !== undefined || strongAlt !== undefined) nodes.push(el("strong", {}, inline(strong ?? strongAlt, depth + 1)));
    else if (struck !== undefined) nodes.push(el("del", {}, inline(struck, depth + 1)));
    else if (em !== undefined || emAlt !== undefined) nodes.push(el("em", {}, inline(em ?? emAlt, depth + 1)));
    else if (target !== undefined) {
      const href = safeURL(target);
      const shown = bang ? (label || target) : label;
      nodes.push(href ? link(href, bang ? shown : inline(shown, depth + 1)) : whole);
    } else if (bare !== undefined) {
      const href = safeURL(bare);
      nodes.push(href ? link(href, bare) : bare);
    }
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

// Lines joined with line breaks, each line's inline markdown rendered.
function lines(list, depth) {
  return inline(list.join("\n"), depth).flatMap((node) => {
    if (typeof node !== "string") return [node];
    return node.split("\n").flatMap((part, index) => (index === 0 ? [part] : [el("br"), part]));
  });
}

function cells(row) {
  let text = row.trim();
  if (text.startsWith("|")) text = text.slice(1);
  if (text.endsWith("|") && !text.endsWith("\\|")) text = text.slice(0, -1);
  return text.split(/(?<!\\)\|/).map((cell) => cell.trim().replaceAll("\\|", "|"));
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
}

function blocks(source, depth) {
  const input = source.split("\n");
  const out = [];
  let i = 0;
  while (i < input.length) {
    const line = input[i];
    if (!line.trim()) { i += 1; continue; }
    if (depth > MAX_DEPTH) { out.push(el("p", {}, input.slice(i).join("\n"))); break; }
    const fence = line.match(FENCE);
    if (fence) {
      const body = [];
      const closes = (candidate) => {
        const mark = candidate.trim();
        return mark.length >= fence[1].length && [...mark].every((character) => character === fence[1][0]);
      };
      i += 1;
      // An unclosed fence runs to the end: that is how a streaming reply looks mid-block.
      while (i < input.length && !closes(input[i])) {
        body.push(input[i]);
        i += 1;
      }
      i += 1;
      out.push(el("pre", {}, el("code", fence[2] ? { "data-language": fence[2] } : {}, body.join("\n"))));
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      // Inside a message the page's own h1 stays the top: # becomes h2, and so on.
      out.push(el(`h${Math.min(6, heading[1].length + 1)}`, {}, inline(heading[2], depth)));
      i += 1;
      continue;
    }
    if (RULE.test(line)) { out.push(el("hr")); i += 1; continue; }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < input.length && QUOTE.test(input[i])) { quoted.push(input[i].replace(QUOTE, "")); i += 1; }
      out.push(el("blockquote", {}, blocks(quoted.join("\n"), depth + 1)));
      continue;
    }
    const item = line.match(ITEM);
    if (item) {
      const ordered = /\d/.test(item[2][0]);
      const list = el(ordered ? "ol" : "ul", ordered && parseInt(item[2], 10) !== 1 ? { start: parseInt(item[2], 10) } : {});
      while (i < input.length) {
        const next = input[i].match(ITEM);
        if (!next || /\d/.test(next[2][0]) !== ordered) break;
        const indent = next[1].length + next[2].length + 1;
        const content = [next[3]];
        i += 1;
        // The item's own lines: indented under it, or a blank line followed by such.
        while (i < input.length) {
          const more = input[i];
          if (more.trim() && more.length - more.trimStart().length >= Math.min(indent, 4)) {
            content.push(more.slice(Math.min(indent, more.length - more.trimStart().length)));
          } else if (!more.trim() && i + 1 < input.length && input[i + 1].trim()
            && input[i + 1].length - input[i + 1].trimStart().length >= Math.min(indent, 4)) {
            content.push("");
          } else if (more.trim() && !startsBlock(more) && content[content.length - 1].trim()
            && !ITEM.test(content[content.length - 1])) {
            content.push(more); // a lazy continuation of the item's paragraph
          } else {
            break;
          }
          i += 1;
        }
        const nested = blocks(content.join("\n"), depth + 1);
        // A tight item is its paragraph's text, not a paragraph.
        const children = nested.length >= 1 && nested[0].tagName === "P" ? [...nested[0].childNodes, ...nested.slice(1)] : nested;
        list.append(el("li", {}, children));
        while (i < input.length && !input[i].trim() && i + 1 < input.length && ITEM.test(input[i + 1])) i += 1;
      }
      out.push(list);
      continue;
    }
    if (line.includes("|") && i + 1 < input.length && TABLE_RULE.test(input[i + 1]) && input[i + 1].includes("-")) {
      const head = cells(line);
      const rows = [];
      i += 2;
      while (i < input.length && input[i].includes("|") && input[i].trim()) { rows.push(cells(input[i])); i += 1; }
      out.push(el("div", { class: "table" }, el("table", {},
        el("thead", {}, el("tr", {}, head.map((cell) => el("th", { scope: "col" }, inline(cell, depth))))),
        el("tbody", {}, rows.map((row) => el("tr", {}, head.map((_, index) => el("td", {}, inline(row[index] ?? "", depth)))))))));
      continue;
    }
    const paragraph = [line];
    i += 1;
    while (i < input.length && input[i].trim() && !startsBlock(input[i])) { paragraph.push(input[i]); i += 1; }
    out.push(el("p", {}, lines(paragraph, depth)));
  }
  return out;
}

// The nodes of `text` rendered as markdown.
export function renderMarkdown(text) {
  const source = String(text ?? "");
  if (source.length > MAX_CHARS) return [el("p", { class: "plain" }, source)];
  return blocks(source.replaceAll("\r\n", "\n"), 0);
}
