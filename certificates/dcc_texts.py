"""The fixed texts of the DCC caltrace writes (:mod:`certificates.dcc`), in Vietnamese and English.

Terms follow METROLOGY.md "Vietnamese terms" (giấy chứng nhận hiệu chuẩn, chuẩn đo lường, độ không đảm bảo đo …);
placeholders in braces are filled by the writer.
"""

from __future__ import annotations

T: dict[str, dict[str, str]] = {
    "title": {"vi": "Giấy chứng nhận hiệu chuẩn", "en": "Calibration certificate"},
    "run": {"vi": "Mã lần đo", "en": "Run id"},
    "serial": {"vi": "Số sản xuất", "en": "Serial number"},
    "code": {"vi": "Mã chuẩn của phòng thí nghiệm", "en": "Laboratory's standard code"},
    "results": {"vi": "Kết quả hiệu chuẩn", "en": "Calibration results"},
    "point": {"vi": "Điểm đo", "en": "Measuring point"},
    "only_item": {
        "vi": "Các kết quả trong giấy chứng nhận này chỉ có giá trị đối với phương tiện đo được hiệu chuẩn.",
        "en": "The results in this certificate relate only to the item calibrated.",
    },
    "traceable": {
        "vi": "Kết quả được liên kết chuẩn qua các chuẩn đo lường đã dùng, mỗi chuẩn có giấy chứng nhận hiệu chuẩn "
        "nêu trong mục thiết bị đo.",
        "en": "The results are metrologically traceable through the measurement standards used, each with the "
        "calibration certificate named under measuring equipment.",
    },
    "unc_name": {"vi": "Độ không đảm bảo đo mở rộng", "en": "Expanded uncertainty"},
    "unc": {
        "vi": "Độ không đảm bảo đo mở rộng U = k·u_c theo JCGM 100:2008 (GUM), làm tròn lên hai chữ số có nghĩa và "
        "không nhỏ hơn khả năng đo và hiệu chuẩn (CMC) của phòng thí nghiệm theo ILAC P14:09/2020; giá trị làm "
        "tròn đến chữ số cuối của U.",
        "en": "Expanded uncertainty U = k·u_c per JCGM 100:2008 (GUM), rounded up to two significant digits and "
        "never below the laboratory's calibration and measurement capability (CMC) per ILAC P14:09/2020; values "
        "rounded to U's last digit.",
    },
    "proc": {"vi": "Quy trình {code} phiên bản {version}", "en": "Procedure {code} version {version}"},
    "env_min": {"vi": "{q} nhỏ nhất", "en": "{q} minimum"},
    "env_max": {"vi": "{q} lớn nhất", "en": "{q} maximum"},
    "env_out": {"vi": "Có giá trị ngoài giới hạn của quy trình.", "en": "A value was outside the procedure's limits."},
    "cert": {
        "vi": "Giấy chứng nhận hiệu chuẩn số {number} ({issuer})",
        "en": "Calibration certificate no. {number} ({issuer})",
    },
    "std_desc": {
        "vi": "Vai trò: {role}. Giấy chứng nhận số {number} do {issuer} cấp, hiệu chuẩn ngày {cal}, hạn {due}. "
        "Liên kết chuẩn: {trace}.",
        "en": "Role: {role}. Certificate no. {number} issued by {issuer}, calibrated on {cal}, due {due}. "
        "Traceability: {trace}.",
    },
    "cmc_applied": {
        "vi": "U nêu là CMC của phòng thí nghiệm ({cmc}), lớn hơn U tính được ({calc}).",
        "en": "The stated U is the laboratory's CMC ({cmc}), larger than the calculated U ({calc}).",
    },
    "calc_applied": {
        "vi": "U nêu là U tính được; CMC của phòng thí nghiệm tại điểm này là {cmc}.",
        "en": "The stated U is the calculated U; the laboratory's CMC at this point is {cmc}.",
    },
    "no_cmc": {
        "vi": "U nêu là U tính được; không có dòng CMC nào của phòng thí nghiệm áp dụng cho điểm này.",
        "en": "The stated U is the calculated U; no CMC line of the laboratory covers this point.",
    },
    "k_given": {
        "vi": "k do quy trình cho; xác suất phủ khoảng 95 % (phân bố chuẩn).",
        "en": "k set by the procedure; coverage probability about 95 % (normal distribution).",
    },
    "informational": {
        "vi": "Kết quả thông tin, nêu không kèm độ không đảm bảo đo (kết quả thử của quy trình).",
        "en": "Informational result, stated without an uncertainty (a test result of the procedure).",
    },
    "rule": {"vi": "Quy tắc quyết định: {rule}", "en": "Decision rule: {rule}"},
    "checked": {
        "vi": "Các mục đã kiểm tra trước khi lập ({std}; ký hiệu 7.8.4.1 chưa đối chiếu với văn bản tiêu chuẩn): ",
        "en": "Items checked before issue ({std}; the 7.8.4.1 letters not checked against the standard's text): ",
    },
    "unverified": {"vi": " (chưa kiểm chứng)", "en": " (unverified)"},
    "signatory": {"vi": "người phê duyệt", "en": "authorising signatory"},
    "reviewer": {"vi": "người soát xét", "en": "reviewer"},
    "technician": {"vi": "người thực hiện", "en": "performed by"},
}
