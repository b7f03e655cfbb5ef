/* A typed resident ID number checked with the network gone: a port of parse_resident_id in
 * subsidies/resident_id.py (GB 11643-1999: 18 characters, a province prefix, a real birth date
 * from 1900 on and not after today, the ISO 7064 MOD 11-2 check character), giving the same
 * code and the same words.  CI runs every case of subsidies/resident_id_cases.json (answered by
 * the Python function) through this file too (tests/subsidies/test_resident_id_table.py).
 *
 * The number is only checked here, never kept: the offline till cannot tell who it is (the kit
 * holds no ID numbers), so a valid number buys no subsidy offline.
 *
 *   browser: CanteenResidentId.parse(text, "YYYY-MM-DD" or null)
 *   Node:    require("./resident_id.js").parse(text, today)
 * → {ok: true, number, region_code, birth_date} or {ok: false, code, message_zh, message_en}
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.CanteenResidentId = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK_MAP = "10X98765432";
  var PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83"];
  // Python's str.split() whitespace: what a cashier's spaces and a scanner's line ends may be.
  var SPACE = /[\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

  function refused(code, zh, en) {
    return { ok: false, code: code, message_zh: zh, message_en: en };
  }

  function isLeap(y) { return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0); }

  // "YYYY-MM-DD" for the eight digits, or null when no such day exists (or before 1900).
  function birthDate(digits) {
    var y = +digits.slice(0, 4), m = +digits.slice(4, 6), d = +digits.slice(6, 8);
    var days = [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
    if (y < 1900 || !days || d < 1 || d > days) return null;
    return digits.slice(0, 4) + "-" + digits.slice(4, 6) + "-" + digits.slice(6, 8);
  }

  function checkCharacter(first17) {
    var total = 0;
    for (var i = 0; i < 17; i++) total += (+first17[i]) * WEIGHTS[i];
    return CHECK_MAP[total % 11];
  }

  function normalise(text) {
    return String(text).normalize("NFKC").replace(SPACE, "").toUpperCase();
  }

  function parse(text, today) {
    var number = normalise(text);
    var chars = Array.from(number);  // Python counts characters, not UTF-16 units
    if (!chars.length) return refused("empty", "请输入身份证号码。", "Please enter a resident ID number.");
    if (/^[0-9]{15}$/.test(number)) {
      return refused("first_generation",
        "这是15位的第一代身份证号码，已停止使用且没有校验位，无法核验。请使用18位的第二代身份证号码。",
        "This is a 15-digit first-generation ID number. These were replaced by 18-character numbers and " +
        "carry no check character, so they cannot be verified. Please use the 18-character number.");
    }
    if (chars.length !== 18) {
      return refused("length", "身份证号码应为18位，现在是" + chars.length + "位。",
        "A resident ID number has 18 characters; this one has " + chars.length + ".");
    }
    if (!/^[0-9]{17}[0-9X]$/.test(number)) {
      var bad = 18;
      for (var i = 0; i < 18; i++) {
        if (!(/[0-9]/.test(chars[i]) || (i === 17 && chars[i] === "X"))) { bad = i + 1; break; }
      }
      return refused("characters", "身份证号码只能包含数字，最后一位可以是X（第" + bad + "位不对）。",
        "A resident ID number is 17 digits followed by a digit or X (character " + bad + " is wrong).");
    }
    var region = number.slice(0, 6);
    if (PROVINCES.indexOf(region.slice(0, 2)) < 0) {
      return refused("region", "前6位地区码 " + region + " 不是有效的省级行政区划代码。",
        "The first six digits " + region + " are not a valid region code (no province starts with " +
        region.slice(0, 2) + ").");
    }
    var digits = number.slice(6, 14), born = birthDate(digits);
    if (born === null) {
      return refused("birth_date", "第7–14位的出生日期 " + digits + " 不是有效日期。",
        "Characters 7–14 (" + digits + ") are not a real date of birth.");
    }
    if (today && born > today) {  // ISO dates compare as strings
      return refused("future_birth_date", "出生日期 " + born + " 晚于今天，号码有误。",
        "The date of birth " + born + " is in the future; the number is mistyped.");
    }
    if (number[17] !== checkCharacter(number.slice(0, 17))) {
      return refused("check_character", "校验位不符，号码中有输错的数字，请逐位核对。",
        "The check character does not match: a digit is mistyped. Please check the number digit by digit.");
    }
    return { ok: true, number: number, region_code: region, birth_date: born };
  }

  return { parse: parse, normalise: normalise };
});
