// tokenize.js GRAMMAR FILE: a small TextMate tokenizer for the tests
// (match, begin/end, captures, includes from the repository; the end
// pattern wins ties, as in TextMate). It prints, as JSON, one array per
// line of FILE holding the scope stack of every character. JavaScript
// regexps stand in for Oniguruma: the grammar uses only syntax both
// share (lookbehind, lookahead, classes, counted repeats).
const fs = require("fs");
const [grammarPath, filePath] = process.argv.slice(2);
const g = JSON.parse(fs.readFileSync(grammarPath, "utf8"));
const re = (src) => new RegExp(src, "gu");

// flatten expands includes and pattern-only rules into match/begin rules.
function flatten(patterns, out = [], seen = new Set()) {
  for (const p of patterns || []) {
    if (p.include) {
      const name = p.include.slice(1);
      if (seen.has(name)) continue;
      const r = g.repository[name];
      if (!r) throw new Error("unknown include " + p.include);
      flatten([r], out, new Set([...seen, name]));
    } else if (p.match || p.begin) {
      out.push(p);
    } else {
      flatten(p.patterns, out, seen);
    }
  }
  return out;
}

function exec(src, line, pos) {
  const r = re(src);
  r.lastIndex = pos;
  return r.exec(line);
}

const stack = [{ scopes: [g.scopeName], patterns: flatten(g.patterns) }];
const result = [];
for (const line of fs.readFileSync(filePath, "utf8").split("\n")) {
  const scopes = new Array(line.length).fill(null);
  const paint = (from, to, names) => {
    for (let i = from; i < to; i++) scopes[i] = names;
  };
  const paintCaptures = (m, caps, base) => {
    if (!caps) return;
    // Captures are painted by group; a group's offset is found by
    // searching its text after the match start (enough for these rules).
    let from = m.index;
    for (let i = 0; i < m.length; i++) {
      if (!caps[i] || m[i] === undefined) continue;
      const at = i === 0 ? m.index : line.indexOf(m[i], from);
      paint(at, at + m[i].length, [...base, caps[i].name]);
      if (i > 0) from = at + m[i].length;
    }
  };
  let pos = 0;
  let steps = 0;
  for (;;) {
    const top = stack[stack.length - 1];
    let best = null;
    if (top.end) {
      const m = exec(top.end, line, pos);
      if (m) best = { m, end: true };
    }
    for (const p of top.patterns) {
      const m = exec(p.match || p.begin, line, pos);
      if (m && (!best || m.index < best.m.index)) best = { m, p };
    }
    if (!best) {
      paint(pos, line.length, top.scopes);
      break;
    }
    const { m } = best;
    paint(pos, m.index, top.scopes);
    const after = m.index + m[0].length;
    if (best.end) {
      paint(m.index, after, top.scopes);
      paintCaptures(m, top.rule.endCaptures, top.scopes);
      stack.pop();
    } else if (best.p.match) {
      const s = best.p.name ? [...top.scopes, best.p.name] : top.scopes;
      paint(m.index, after, s);
      paintCaptures(m, best.p.captures, s);
    } else {
      const p = best.p;
      const s = p.name ? [...top.scopes, p.name] : top.scopes;
      paint(m.index, after, s);
      paintCaptures(m, p.beginCaptures || p.captures, s);
      stack.push({ scopes: s, patterns: flatten(p.patterns), end: p.end, rule: p });
    }
    if (++steps > 10000) throw new Error("tokenizer does not advance on: " + line);
    // A zero-length match advances by one (a zero-length end pops and
    // stays: the frame below continues at the same place).
    pos = after > pos || best.end ? after : after + 1;
    if (pos > line.length) break;
  }
  result.push(scopes);
}
console.log(JSON.stringify(result));
