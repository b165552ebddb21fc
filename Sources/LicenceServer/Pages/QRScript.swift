/// `/qr.js`: a QR code encoder for the wallet's presentation codes, written from ISO/IEC 18004 so
/// that the page loads nothing from elsewhere. It covers what presentation codes need: the
/// alphanumeric mode (their text is base45, upper case), versions 1 to 10, error correction level Q
/// (and M), and the eight masks scored by the standard's penalty rules. Static licence QR codes are
/// made by the server with libqrencode.
enum QRScript {
    static let javascript = #"""
"use strict";
// QR codes: alphanumeric mode, versions 1–10, levels M and Q. Exposes ELicenceQR.encode(text, level)
// → {size, version, modules: [[bool]]} and ELicenceQR.draw(canvas, qr, scale).
(function (global) {
  const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  // Per version 1–10: error-correction codewords per block and number of blocks (ISO/IEC 18004 table 9).
  const EC = {
    M: { perBlock: [10, 16, 26, 18, 24, 16, 18, 22, 22, 26], blocks: [1, 1, 1, 2, 2, 4, 4, 4, 5, 5], bits: 0 },
    Q: { perBlock: [13, 22, 18, 26, 18, 24, 18, 22, 20, 24], blocks: [1, 1, 2, 2, 4, 4, 6, 6, 8, 8], bits: 3 },
  };
  const ALIGN = [[], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]];

  function rawDataModules(version) {
    let result = (16 * version + 128) * version + 64;
    if (version >= 2) {
      const align = Math.floor(version / 7) + 2;
      result -= (25 * align - 10) * align - 55;
      if (version >= 7) result -= 36;
    }
    return result;
  }
  function dataCodewords(version, level) {
    const e = EC[level];
    return Math.floor(rawDataModules(version) / 8) - e.perBlock[version - 1] * e.blocks[version - 1];
  }

  // GF(256) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D).
  function gfMul(x, y) {
    let z = 0;
    for (let i = 7; i >= 0; i--) {
      z = (z << 1) ^ ((z >>> 7) * 0x11d);
      z ^= ((y >>> i) & 1) * x;
    }
    return z & 0xff;
  }
  function rsDivisor(degree) {
    const result = new Array(degree).fill(0);
    result[degree - 1] = 1;
    let root = 1;
    for (let i = 0; i < degree; i++) {
      for (let j = 0; j < result.length; j++) {
        result[j] = gfMul(result[j], root);
        if (j + 1 < result.length) result[j] ^= result[j + 1];
      }
      root = gfMul(root, 0x02);
    }
    return result;
  }
  function rsRemainder(data, divisor) {
    const result = new Array(divisor.length).fill(0);
    for (const b of data) {
      const factor = b ^ result.shift();
      result.push(0);
      for (let i = 0; i < result.length; i++) result[i] ^= gfMul(divisor[i], factor);
    }
    return result;
  }

  function appendBits(bits, value, length) {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  }

  function codewords(text, version, level) {
    const bits = [];
    appendBits(bits, 0x2, 4);  // alphanumeric mode
    appendBits(bits, text.length, version <= 9 ? 9 : 11);
    for (let i = 0; i + 1 < text.length; i += 2) {
      appendBits(bits, ALNUM.indexOf(text[i]) * 45 + ALNUM.indexOf(text[i + 1]), 11);
    }
    if (text.length % 2 === 1) appendBits(bits, ALNUM.indexOf(text[text.length - 1]), 6);
    const capacity = dataCodewords(version, level) * 8;
    if (bits.length > capacity) return null;
    appendBits(bits, 0, Math.min(4, capacity - bits.length));
    appendBits(bits, 0, (8 - bits.length % 8) % 8);
    for (let pad = 0xec; bits.length < capacity; pad ^= 0xec ^ 0x11) appendBits(bits, pad, 8);
    const data = [];
    for (let i = 0; i < bits.length; i += 8) {
      let byte = 0;
      for (let j = 0; j < 8; j++) byte = (byte << 1) | bits[i + j];
      data.push(byte);
    }
    // Split into blocks, add each block's error correction, interleave.
    const e = EC[level];
    const numBlocks = e.blocks[version - 1], ecLen = e.perBlock[version - 1];
    const raw = Math.floor(rawDataModules(version) / 8);
    const numShort = numBlocks - raw % numBlocks, shortLen = Math.floor(raw / numBlocks);
    const divisor = rsDivisor(ecLen);
    const blocks = [];
    for (let i = 0, k = 0; i < numBlocks; i++) {
      const dataLen = shortLen - ecLen + (i < numShort ? 0 : 1);
      const block = data.slice(k, k + dataLen);
      k += dataLen;
      const ecc = rsRemainder(block, divisor);
      if (i < numShort) block.push(0);
      blocks.push(block.concat(ecc));
    }
    const result = [];
    for (let i = 0; i < blocks[0].length; i++) {
      blocks.forEach((block, j) => {
        if (i !== shortLen - ecLen || j >= numShort) result.push(block[i]);
      });
    }
    return result;
  }

  function build(version, level, data, mask) {
    const size = version * 4 + 17;
    const modules = Array.from({ length: size }, () => new Array(size).fill(false));
    const fixed = Array.from({ length: size }, () => new Array(size).fill(false));
    const set = (x, y, dark) => { modules[y][x] = dark; fixed[y][x] = true; };
    for (let i = 0; i < size; i++) { set(6, i, i % 2 === 0); set(i, 6, i % 2 === 0); }
    const finder = (cx, cy) => {
      for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) {
        const dist = Math.max(Math.abs(dx), Math.abs(dy)), x = cx + dx, y = cy + dy;
        if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, dist !== 2 && dist !== 4);
      }
    };
    finder(3, 3); finder(size - 4, 3); finder(3, size - 4);
    const align = ALIGN[version - 1];
    for (let i = 0; i < align.length; i++) for (let j = 0; j < align.length; j++) {
      if ((i === 0 && j === 0) || (i === 0 && j === align.length - 1) || (i === align.length - 1 && j === 0)) continue;
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) {
        set(align[i] + dx, align[j] + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }
    }
    // Format information: level and mask, BCH(15,5), masked with 0x5412.
    const formatData = (EC[level].bits << 3) | mask;
    let rem = formatData;
    for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    const format = ((formatData << 10) | rem) ^ 0x5412;
    const bit = (value, i) => ((value >>> i) & 1) !== 0;
    for (let i = 0; i <= 5; i++) set(8, i, bit(format, i));
    set(8, 7, bit(format, 6)); set(8, 8, bit(format, 7)); set(7, 8, bit(format, 8));
    for (let i = 9; i < 15; i++) set(14 - i, 8, bit(format, i));
    for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(format, i));
    for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(format, i));
    set(8, size - 8, true);  // the dark module
    if (version >= 7) {
      let r = version;
      for (let i = 0; i < 12; i++) r = (r << 1) ^ ((r >>> 11) * 0x1f25);
      const bits = (version << 12) | r;
      for (let i = 0; i < 18; i++) {
        const a = size - 11 + i % 3, b = Math.floor(i / 3), dark = bit(bits, i);
        set(a, b, dark); set(b, a, dark);
      }
    }
    // The data, in the zigzag of two-module columns, then the mask.
    let i = 0;
    for (let right = size - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      for (let vert = 0; vert < size; vert++) for (let j = 0; j < 2; j++) {
        const x = right - j, upward = ((right + 1) & 2) === 0, y = upward ? size - 1 - vert : vert;
        if (!fixed[y][x] && i < data.length * 8) {
          modules[y][x] = ((data[i >>> 3] >>> (7 - (i & 7))) & 1) !== 0;
          i++;
        }
      }
    }
    const maskFn = [
      (x, y) => (x + y) % 2 === 0, (x, y) => y % 2 === 0, (x) => x % 3 === 0, (x, y) => (x + y) % 3 === 0,
      (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0, (x, y) => x * y % 2 + x * y % 3 === 0,
      (x, y) => (x * y % 2 + x * y % 3) % 2 === 0, (x, y) => ((x + y) % 2 + x * y % 3) % 2 === 0,
    ][mask];
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      if (!fixed[y][x] && maskFn(x, y)) modules[y][x] = !modules[y][x];
    }
    return modules;
  }

  // The standard's four penalty rules.
  function penalty(modules) {
    const size = modules.length;
    let result = 0, dark = 0;
    const line = (get) => {
      let score = 0, run = 0, last = null;
      const states = [];
      for (let i = 0; i < size; i++) {
        const m = get(i);
        if (m === last) run++; else { if (run >= 5) score += run - 2; run = 1; last = m; }
        states.push(m);
      }
      if (run >= 5) score += run - 2;
      const s = states.map((m) => (m ? "1" : "0")).join("");
      const pattern = /(?=(10111010000|00001011101))/g;
      score += (s.match(pattern) || []).length * 40;
      return score;
    };
    for (let y = 0; y < size; y++) result += line((x) => modules[y][x]);
    for (let x = 0; x < size; x++) result += line((y) => modules[y][x]);
    for (let y = 0; y < size - 1; y++) for (let x = 0; x < size - 1; x++) {
      const c = modules[y][x];
      if (c === modules[y][x + 1] && c === modules[y + 1][x] && c === modules[y + 1][x + 1]) result += 3;
    }
    for (const row of modules) for (const m of row) if (m) dark++;
    const total = size * size;
    result += Math.floor(Math.abs(dark * 20 - total * 10) / total) * 10;
    return result;
  }

  function encode(text, level) {
    level = level || "Q";
    for (const c of text) if (ALNUM.indexOf(c) < 0) throw new Error("not alphanumeric: " + c);
    for (let version = 1; version <= 10; version++) {
      const data = codewords(text, version, level);
      if (!data) continue;
      let best = null, bestScore = Infinity;
      for (let mask = 0; mask < 8; mask++) {
        const modules = build(version, level, data, mask), score = penalty(modules);
        if (score < bestScore) { best = modules; bestScore = score; }
      }
      return { size: best.length, version, modules: best };
    }
    throw new Error("the text does not fit a QR code of version 10 at level " + level);
  }

  // Draws with a quiet zone of 4 modules.
  function draw(canvas, qr, scale) {
    const side = (qr.size + 8) * scale;
    canvas.width = side; canvas.height = side;
    const g = canvas.getContext("2d");
    g.fillStyle = "#fff"; g.fillRect(0, 0, side, side);
    g.fillStyle = "#000";
    for (let y = 0; y < qr.size; y++) for (let x = 0; x < qr.size; x++) {
      if (qr.modules[y][x]) g.fillRect((x + 4) * scale, (y + 4) * scale, scale, scale);
    }
  }

  global.ELicenceQR = { encode, draw };
})(typeof window !== "undefined" ? window : globalThis);
"""#
}
