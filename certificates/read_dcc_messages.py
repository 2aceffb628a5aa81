"""Every message of reading a reference standard's DCC and importing it (``caltrace registry import
standard-certificate``), in Vietnamese (the default) and English: code -> (Vietnamese, English) template, rendered
by :class:`registry.importer.messages.Message` (decimal comma in Vietnamese, dates dd/mm/yyyy).

Quoted literals (what the certificate says) are in «…» in Vietnamese and '…' in English."""

from __future__ import annotations

from registry.importer.messages import Message, message_from

MESSAGES: dict[str, tuple[str, str]] = {
    # --- the file -----------------------------------------------------------------------------------------------
    "dcc.not_xml": ("{file} không phải tệp XML đọc được: {detail}", "{file} is not readable XML: {detail}"),
    "dcc.not_dcc": (
        "{file} không phải giấy chứng nhận hiệu chuẩn số (DCC): phần tử gốc là «{root}»",
        "{file} is not a Digital Calibration Certificate (DCC): its root element is '{root}'",
    ),
    "dcc.no_number": (
        "giấy chứng nhận không có số (coreData/uniqueIdentifier)",
        "the certificate has no number (coreData/uniqueIdentifier)",
    ),
    "dcc.no_date": (
        "giấy chứng nhận không ghi ngày hiệu chuẩn (coreData/beginPerformanceDate, endPerformanceDate)",
        "the certificate states no calibration date (coreData/beginPerformanceDate, endPerformanceDate)",
    ),
    "dcc.bad_date": ("ngày «{text}» ở {where} không đọc được", "the date '{text}' in {where} cannot be read"),
    "dcc.no_lab": (
        "giấy chứng nhận không ghi tên phòng thí nghiệm hiệu chuẩn (calibrationLaboratory)",
        "the certificate does not name the calibration laboratory (calibrationLaboratory)",
    ),
    "dcc.no_results": (
        "giấy chứng nhận không có kết quả đo nào (`measurementResults/results`)",
        "the certificate has no measurement result (`measurementResults/results`)",
    ),
    # --- verification -------------------------------------------------------------------------------------------
    "verify.failed": (
        "kiểm tra giấy chứng nhận không đạt ở bước: {steps}; không nhập giấy chứng nhận không hợp lệ",
        "the certificate failed verification at: {steps}; an invalid certificate is not imported",
    ),
    "verify.warnings": (
        "kiểm tra giấy chứng nhận chưa xác nhận được: {steps}; xem lại rồi chạy lại với --accept-warnings nếu "
        "chấp nhận",
        "verification could not confirm: {steps}; review them and run again with --accept-warnings to accept",
    ),
    # --- the standard -------------------------------------------------------------------------------------------
    "standard.not_found": (
        "không có chuẩn đo lường mã «{code}» (`caltrace registry standards list`)",
        "no reference standard with code '{code}' (`caltrace registry standards list`)",
    ),
    "item.no_serial": (
        "chuẩn {code} chưa có số sản xuất trong sổ đăng ký nên không so được với đối tượng của giấy chứng nhận "
        "({ids}); đăng ký số sản xuất của chuẩn trước",
        "standard {code} has no serial number in the registry, so the certificate's item ({ids}) cannot be checked "
        "against it; register the standard's serial number first",
    ),
    "item.mismatch": (
        "đối tượng của giấy chứng nhận ({ids}) không phải chuẩn {code} (số sản xuất {serial})",
        "the certificate's item ({ids}) is not standard {code} (serial number {serial})",
    ),
    "item.none": ("giấy chứng nhận không ghi số nhận dạng đối tượng", "the certificate identifies no item"),
    # --- values -------------------------------------------------------------------------------------------------
    "value.form": (
        "{where}: dạng «{form}» của D-SI chưa được hỗ trợ (chỉ đọc «si:real»)",
        "{where}: the D-SI form '{form}' is not supported (only 'si:real' is read)",
    ),
    "value.no_value": ("{where}: «si:real» không có giá trị số đọc được", "{where}: 'si:real' has no readable value"),
    "value.unit": (
        "{where}: không đổi được đơn vị D-SI «{unit}» sang đơn vị của caltrace",
        "{where}: the D-SI unit '{unit}' cannot be converted to a caltrace unit",
    ),
    "value.no_uncertainty": (
        "{where}: kết quả không có độ không đảm bảo đo mở rộng (si:expandedMU hoặc si:expandedUnc)",
        "{where}: the result has no expanded uncertainty (si:expandedMU or si:expandedUnc)",
    ),
    "value.standard_only": (
        "{where}: chỉ có độ không đảm bảo đo chuẩn hoặc khoảng phủ, không có U và hệ số phủ k",
        "{where}: only a standard uncertainty or a coverage interval is stated, not U with its coverage factor k",
    ),
    "value.no_k": ("{where}: U không kèm hệ số phủ k", "{where}: U is stated without its coverage factor k"),
    "value.u_unit": (
        "{where}: không đổi được U từ «{u_unit}» sang đơn vị của giá trị «{unit}»",
        "{where}: U in '{u_unit}' cannot be converted to the value's unit '{unit}'",
    ),
    "value.true_mass": (
        "{where}: giấy chứng nhận ghi khối lượng (thực), không phải khối lượng quy ước (OIML R111-1:2004, "
        "OIML D 28) mà caltrace dùng cho quả cân; không tự chuyển đổi (cần khối lượng riêng và độ không đảm bảo "
        "đo của nó)",
        "{where}: the certificate states the (true) mass, not the conventional mass (OIML R111-1:2004, "
        "OIML D 28) that caltrace uses for weights; it is not converted here (that needs the density and its "
        "uncertainty)",
    ),
    "value.not_weight": (
        "{where}: đại lượng «{name}» không phải khối lượng quy ước hay số hiệu chính của quả cân",
        "{where}: the quantity '{name}' is neither a weight's conventional mass nor its correction",
    ),
    "value.no_nominal": (
        "{where}: không có giá trị danh định của quả cân",
        "{where}: the weight's nominal value is not stated",
    ),
    "value.not_mass_unit": (
        "{where}: đơn vị «{unit}» không phải đơn vị khối lượng",
        "{where}: the unit '{unit}' is not a mass unit",
    ),
    "piece.twice": (
        "{where}: hai kết quả cho cùng một quả cân {piece} (lần đầu ở {first})",
        "{where}: two results for the same weight {piece} (first in {first})",
    ),
    "piece.not_in_set": (
        "{where}: quả cân {piece} không có trong bộ quả cân {code} (các quả: {pieces})",
        "{where}: the weight {piece} is not a piece of weight set {code} (its pieces: {pieces})",
    ),
    "piece.ambiguous": (
        "{where}: bộ {code} có nhiều quả {nominal} ({pieces}); giấy chứng nhận phải ghi dấu của quả cân",
        "{where}: set {code} has several {nominal} pieces ({pieces}); the certificate must give the piece's marking",
    ),
    "piece.not_covered": (
        "giấy chứng nhận không có các quả cân {pieces} của bộ {code}: sau khi nhập, các quả đó không dùng được",
        "the certificate does not cover the pieces {pieces} of set {code}: once imported, those pieces cannot be used",
    ),
    "piece.first": (
        "{code} chưa có giấy chứng nhận nào: các quả cân của giấy chứng nhận này được lấy làm các quả của bộ",
        "{code} has no certificate yet: the pieces of this certificate are taken as the pieces of the set",
    ),
    "weight.one": (
        "chuẩn {code} là một quả cân, nhưng giấy chứng nhận có {n} kết quả quả cân",
        "standard {code} is a single weight, but the certificate has {n} weight results",
    ),
    "weight.nominal": (
        "{where}: giá trị danh định {nominal} khác phạm vi đã đăng ký của quả cân {code} ({registered})",
        "{where}: the nominal value {nominal} differs from weight {code}'s registered value ({registered})",
    ),
    "value.point_dropped": (
        "{where}: giá trị danh định «{nominal}» không cùng thứ nguyên với giá trị nên không ghi",
        "{where}: the nominal value '{nominal}' is not of the value's dimension, so it is not recorded",
    ),
    "value.name_long": (
        "{where}: tên đại lượng «{name}» dài quá {limit} ký tự; chỉ ghi phần đầu",
        "{where}: the quantity name '{name}' is longer than {limit} characters; only its start is recorded",
    ),
    "dcc.registered": (
        "giấy chứng nhận {number} của {issuer} đã có trong sổ đăng ký (chuẩn {code}); mỗi DCC chỉ nhập một lần",
        "certificate {number} of {issuer} is already in the registry (standard {code}); a DCC is imported once",
    ),
    "import.note": ("sổ đăng ký ghi chú: {detail}", "the registry notes: {detail}"),
    "import.rejected": ("sổ đăng ký từ chối: {detail}", "the registry refused it: {detail}"),
    "where.result": ("kết quả {n} «{name}»", "result {n} '{name}'"),
    # --- what the command prints (api/cli/standard_dcc.py) ------------------------------------------------------
    "cli.title": ("Giấy chứng nhận của chuẩn {code}: {file}", "Certificate of standard {code}: {file}"),
    "cli.number": ("Số giấy chứng nhận", "Certificate number"),
    "cli.laboratory": ("Phòng thí nghiệm cấp", "Issued by"),
    "cli.accreditation": ("công nhận {code}", "accreditation {code}"),
    "cli.calibrated": ("Ngày hiệu chuẩn", "Calibrated"),
    "cli.issued": ("Ngày cấp", "Issued"),
    "cli.not_stated": ("không ghi", "not stated"),
    "cli.valid_until": ("Hiệu lực đến (--due)", "Valid until (--due)"),
    "cli.item": ("Đối tượng", "Item"),
    "cli.schema": ("Phiên bản DCC", "DCC version"),
    "cli.sha256": ("SHA-256 của tệp", "File SHA-256"),
    "cli.verification": ("Kiểm tra chữ ký và lược đồ", "Signature and schema checks"),
    "cli.values_title": ("Giá trị đọc được ({n})", "Values read ({n})"),
    "cli.col_result": ("kết quả", "result"),
    "cli.col_nominal": ("danh định", "nominal"),
    "cli.col_piece": ("quả cân", "weight"),
    "cli.col_value": ("giá trị", "value"),
    "cli.col_p": ("xác suất phủ", "coverage probability"),
    "cli.col_recorded": ("ghi vào sổ đăng ký", "recorded"),
    "cli.recorded_correction": (
        "số hiệu chính {correction}, U {U}",
        "correction {correction}, U {U}",
    ),
    "cli.recorded_mass": ("khối lượng quy ước {mass}, U {U}", "conventional mass {mass}, U {U}"),
    "cli.recorded_value": ("giá trị {value}, U {U}", "value {value}, U {U}"),
    "cli.notes_title": ("Ghi chú", "Notes"),
    "cli.refused_title": ("Lý do từ chối ({n})", "Reasons it was refused ({n})"),
    "cli.imported": (
        "Đã nhập giấy chứng nhận {number} của {issuer} vào lịch sử của chuẩn {code} ({n} giá trị).",
        "Certificate {number} of {issuer} imported into the history of standard {code} ({n} values).",
    ),
    "cli.dry_run": (
        "Chạy thử: giấy chứng nhận {number} sẽ được nhập cho chuẩn {code} ({n} giá trị); chưa ghi gì.",
        "Dry run: certificate {number} would be imported for standard {code} ({n} values); nothing was written.",
    ),
    "cli.refused": ("Không nhập: chưa ghi gì vào sổ đăng ký.", "Not imported: nothing was written."),
}


def m(code: str, /, **args: object) -> Message:
    """The message ``code`` of :data:`MESSAGES` with ``args``."""
    return message_from(MESSAGES, code, **args)
