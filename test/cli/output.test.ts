/**
 * The CLI's output helpers against text that would drive a terminal: escape sequences
 * (CSI, OSC 52 clipboard writes, C1 controls), characters that move the cursor back
 * (BS, CR), and the bidi and zero-width format characters that reorder or hide text.
 * Whatever goes in, what comes out holds none of them, and the escaping can be undone
 * exactly, so an operator reads what is stored, unambiguously.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { clip, fields, json, line, printable, table, terminalSafe } from '../../src/cli/output.ts';
import { unsafeCodePoints } from '../support/unsafe-text.ts';

const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };

/**
 * The inverse of `printable`, written independently of it: every backslash must start
 * one of its escapes (a stray one would make the output ambiguous, and throws here).
 */
function unprintable(text: string): string {
  return text.replace(/\\(?:x([0-9a-f]{2})|u\{([0-9a-f]{5,6})\}|u([0-9a-f]{4})|([\\tnr])|(.?))/gsu, (...groups: unknown[]) => {
    const [, x, astral, bmp, short, stray] = groups as (string | undefined)[];
    if (x !== undefined) return String.fromCharCode(parseInt(x, 16));
    if (astral !== undefined) return String.fromCodePoint(parseInt(astral, 16));
    if (bmp !== undefined) return String.fromCharCode(parseInt(bmp, 16));
    if (short !== undefined) return SHORT_ESCAPES[short] as string;
    throw new Error(`a backslash that starts no escape, before ${JSON.stringify(stray)}`);
  });
}

/** Hostile strings, each with its exact printable form. */
const NASTY: readonly { what: string; input: string; shown: string }[] = [
  { what: 'CSI colour (ESC [31m)', input: '\x1b[31mred\x1b[0m', shown: String.raw`\x1b[31mred\x1b[0m` },
  { what: 'OSC 52 clipboard write', input: '\x1b]52;c;cm0gLXJmIH4=\x07', shown: String.raw`\x1b]52;c;cm0gLXJmIH4=\x07` },
  {
    what: 'OSC 8 hyperlink',
    input: '\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\',
    shown: String.raw`\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\`,
  },
  { what: 'C1 CSI (U+009B)', input: '\u009b2J', shown: String.raw`\u009b2J` },
  { what: 'C1 OSC and ST', input: '\u009d0;title\u009c', shown: String.raw`\u009d0;title\u009c` },
  { what: 'BEL', input: 'ding\x07', shown: String.raw`ding\x07` },
  { what: 'backspaces over text', input: 'rm -rf /\b\b\b\b\b\b\bls', shown: String.raw`rm -rf /\x08\x08\x08\x08\x08\x08\x08ls` },
  { what: 'carriage return', input: 'all good\rPWNED', shown: String.raw`all good\rPWNED` },
  { what: 'newline and tab', input: 'a\tb\nc', shown: String.raw`a\tb\nc` },
  { what: 'NUL and DEL', input: '\0\x7f', shown: String.raw`\x00\x7f` },
  { what: 'bidi override (U+202E)', input: 'invoice\u202Efdp.exe', shown: String.raw`invoice\u202efdp.exe` },
  { what: 'bidi isolates', input: '\u2066admin\u2069\u2067x\u2068', shown: String.raw`\u2066admin\u2069\u2067x\u2068` },
  { what: 'zero-width and direction marks', input: 'pay\u200Bpal\u200C\u200D\u200E\u200F', shown: String.raw`pay\u200bpal\u200c\u200d\u200e\u200f` },
  { what: 'byte-order mark', input: '\uFEFFroot', shown: String.raw`\ufeffroot` },
  { what: 'line and paragraph separators', input: 'a\u2028b\u2029c', shown: String.raw`a\u2028b\u2029c` },
  { what: 'lone surrogates', input: 'x\uD800y\uDC00', shown: String.raw`x\ud800y\udc00` },
  { what: 'tag characters (hidden text)', input: 'ok\u{E0041}\u{E007F}', shown: String.raw`ok\u{e0041}\u{e007f}` },
  { what: 'a noncharacter and an unassigned code point', input: '\uFFFE\u{E0002}', shown: String.raw`\ufffe\u{e0002}` },
  { what: 'a backslash', input: String.raw`C:\temp`, shown: String.raw`C:\\temp` },
  { what: 'an escape spelled out, not a control', input: String.raw`\x1b[31m`, shown: String.raw`\\x1b[31m` },
];

/** One code point, biased towards the ones that matter here. */
const hostileChar = fc.oneof(
  fc.constantFrom('\\', '\x1b', '\x07', '\b', '\r', '\n', '\t', '\u009b', '\u202e', '\u2066', '\u200b', '\ufeff', '\u2028', 'x', '{', 'u'),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
const hostileText = fc.string({ unit: hostileChar, maxLength: 40 });

describe('CLI output escaping', () => {
  describe('printable', () => {
    for (const { what, input, shown } of NASTY) {
      it(`escapes ${what}`, () => {
        const output = printable(input);
        expect(output).to.equal(shown);
        expect(unsafeCodePoints(output)).to.deep.equal([]);
        expect(unprintable(output)).to.equal(input);
      });
    }

    it('leaves printable text alone, accents, CJK and emoji included', () => {
      const text = 'disk 90% on db-2 — ünïcödé 日本語 🚀 «ok» \u00a0non-breaking';
      expect(printable(text)).to.equal(text);
    });

    it('on any text: nothing unsafe comes out, and the escaping undoes exactly', () => {
      fc.assert(
        fc.property(hostileText, (text) => {
          const output = printable(text);
          expect(unsafeCodePoints(output)).to.deep.equal([]);
          expect(unprintable(output)).to.equal(text);
        }),
        { numRuns: 2_000 },
      );
    });
  });

  describe('terminalSafe, the last guard on stdout and stderr', () => {
    it('passes printable output and its newlines through unchanged', () => {
      fc.assert(
        fc.property(fc.array(hostileText, { maxLength: 5 }), (texts) => {
          const output = `${texts.map(printable).join('\n')}\n`;
          expect(terminalSafe(output)).to.equal(output);
        }),
      );
    });

    it('escapes whatever a forgotten path would let through, but keeps the lines', () => {
      const output = terminalSafe('title \x1b]52;c;aGk=\x07\u009b\u202e\nnext line\n');
      expect(unsafeCodePoints(output, ['\n'])).to.deep.equal([]);
      expect(output).to.equal(String.raw`title \x1b]52;c;aGk=\x07\u009b\u202e` + '\nnext line\n');
    });
  });

  describe('table', () => {
    it('escapes every cell, so a tab or a newline in one cannot break the rows or the columns', () => {
      const rows = [
        ['1', 'line one\nline two\r\x1b[2K', 'z'],
        ['2', 'tab\there\u202e', 'z'],
      ];
      const output = table(['ID', 'TITLE', 'LAST'], rows);
      expect(unsafeCodePoints(output, ['\n'])).to.deep.equal([]);
      const lines = output.split('\n');
      expect(lines).to.have.length(4); // header, two rows, and the final newline
      // Aligned on the escaped width (27 columns for the widest title), so every LAST cell starts at column 33.
      expect(lines[0]).to.equal(`ID  TITLE${' '.repeat(22)}  LAST`);
      expect(lines[1]).to.equal(String.raw`1   line one\nline two\r\x1b[2K  z`);
      expect(lines[2]).to.equal(`${String.raw`2   tab\there\u202e`}${' '.repeat(12)}  z`);
    });
  });

  describe('fields', () => {
    it('escapes labels and values, one line each', () => {
      const output = fields([
        ['title', 'a\x1b[8mhidden\x1b[0m\nnext'],
        ['actor', '\u009b31mroot'],
      ]);
      expect(unsafeCodePoints(output, ['\n'])).to.deep.equal([]);
      expect(output).to.equal(`title  ${String.raw`a\x1b[8mhidden\x1b[0m\nnext`}\nactor  ${String.raw`\u009b31mroot`}\n`);
    });
  });

  describe('line', () => {
    it('escapes the values put into it, not its own text', () => {
      const title = 'db\x1b]0;owned\x07\nfake line';
      expect(line`incident "${title}" is ${'OPEN'} (version ${3})\n`).to.equal(`incident "${String.raw`db\x1b]0;owned\x07\nfake line`}" is OPEN (version 3)\n`);
    });
  });

  describe('clip', () => {
    it('makes layout whitespace one space, and leaves the other controls for the escaping', () => {
      expect(clip('  checkout\n\t 5xx  ', 70)).to.equal('checkout 5xx');
      expect(printable(clip('a\u2028b\uFEFF\x1b[1m', 70))).to.equal(String.raw`a\u2028b\ufeff\x1b[1m`);
    });

    it('cuts at a width counted once escaped, never inside an escape or a surrogate pair', () => {
      fc.assert(
        fc.property(hostileText, fc.integer({ min: 2, max: 30 }), (text, max) => {
          const shown = printable(clip(text, max));
          expect(shown.length).to.be.at.most(max);
          expect(unsafeCodePoints(shown)).to.deep.equal([]);
          expect(unprintable(shown.replace(/…$/, ''))).to.be.a('string');
        }),
        { numRuns: 1_000 },
      );
      const cut = clip('🚀'.repeat(10), 6);
      expect(cut).to.equal('🚀🚀…');
      expect(printable(clip('\x1b'.repeat(10), 10))).to.equal(String.raw`\x1b\x1b…`);
    });
  });

  describe('json', () => {
    it('escapes the C1 controls, DEL, separators and format characters JSON.stringify leaves raw, and still parses back equal', () => {
      const value = {
        title: 'a\u009b31m\x7f\u2028\u2029\u202e\u200b\ufeff\u{E0041}\x1b]52;c;aGk=\x07',
        lone: 'x\uD800',
        plain: 'ünïcödé 日本 🚀 \\ "',
      };
      const output = json(value);
      expect(unsafeCodePoints(output, ['\n'])).to.deep.equal([]);
      expect(output).to.include(String.raw`\u009b31m\u007f\u2028\u2029\u202e\u200b\ufeff\udb40\udc41\u001b]52;c;aGk=\u0007`);
      expect(JSON.parse(output)).to.deep.equal(value);
    });

    it('parses back equal on any text', () => {
      fc.assert(
        fc.property(fc.dictionary(hostileText, hostileText, { maxKeys: 3 }), (value) => {
          const output = json(value);
          expect(unsafeCodePoints(output, ['\n'])).to.deep.equal([]);
          expect(JSON.parse(output)).to.deep.equal(value);
        }),
      );
    });
  });
});
