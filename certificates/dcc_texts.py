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
    "checked_test": {
        "vi": "Các mục đã kiểm tra trước khi lập ({std}; các ký hiệu ghi «chưa kiểm chứng» chưa đối chiếu với văn bản "
        "tiêu chuẩn): ",
        "en": "Items checked before issue ({std}; the letters marked unverified were not checked against the "
        "standard's text): ",
    },
    "unverified": {"vi": " (chưa kiểm chứng)", "en": " (unverified)"},
    "signatory": {"vi": "người phê duyệt", "en": "authorising signatory"},
    "reviewer": {"vi": "người soát xét", "en": "reviewer"},
    "technician": {"vi": "người thực hiện", "en": "performed by"},
    # --- kinds other than calibration (decision 0425) -------------------------------------------------------------
    "title_verification": {"vi": "Giấy chứng nhận kiểm định", "en": "Verification certificate"},
    "title_nonConformity": {
        "vi": "Thông báo kết quả kiểm định không đạt",
        "en": "Notice of non-conformity (verification failed)",
    },
    "title_lotCheck": {
        "vi": "Kết quả kiểm tra lượng của lô hàng đóng gói sẵn",
        "en": "Result of the quantity check of a prepackage lot",
    },
    "results_verification": {"vi": "Kết quả kiểm định", "en": "Verification results"},
    "results_lot": {"vi": "Kết quả kiểm tra lô hàng", "en": "Lot check results"},
    "only_verified": {
        "vi": "Các kết quả trong văn bản này chỉ có giá trị đối với phương tiện đo được kiểm định.",
        "en": "The results in this document relate only to the instrument verified.",
    },
    "only_lot": {
        "vi": "Các kết quả chỉ có giá trị đối với lô hàng được kiểm tra, đánh giá qua mẫu đã lấy theo phương án "
        "lấy mẫu nêu dưới đây.",
        "en": "The results relate only to the lot checked, judged through the sample taken by the sampling plan "
        "stated below.",
    },
    "mark": {"vi": "Số tem kiểm định", "en": "Verification mark (stamp) number"},
    "mark_decl": {
        "vi": "Số tem kiểm định: {mark}. Tem kiểm định được dán (đóng) lên phương tiện đo.",
        "en": "Verification mark (stamp) number: {mark}. The mark is affixed to the instrument.",
    },
    "validity_decl": {
        "vi": "Giấy chứng nhận kiểm định và tem kiểm định có hiệu lực đến hết ngày {until} (kiểm định ngày "
        "{verified}, chu kỳ kiểm định {months} tháng theo sổ đăng ký phương tiện đo; ngày cuối = ngày kiểm định "
        "cộng chu kỳ trừ một ngày, quy ước chưa đối chiếu với văn bản Thông tư: chọn cách thận trọng).",
        "en": "The verification certificate and mark are valid until {until} inclusive (verified on {verified}, "
        "verification interval {months} months from the instrument register; last day = verification date plus "
        "the interval minus one day, a convention not checked against the circular's text: the conservative "
        "reading).",
    },
    "verdict_pass": {
        "vi": "Phương tiện đo đạt yêu cầu kiểm định theo {norm}. {rules}",
        "en": "The instrument meets the verification requirements of {norm}. {rules}",
    },
    "verdict_fail": {
        "vi": "Phương tiện đo không đạt yêu cầu kiểm định theo {norm}: không cấp giấy chứng nhận kiểm định, không "
        "dán (đóng) tem kiểm định. {rules}",
        "en": "The instrument does not meet the verification requirements of {norm}: no verification certificate "
        "and no verification mark are given. {rules}",
    },
    "lot_pass": {
        "vi": "Lô hàng đạt yêu cầu về lượng theo {norm}. {rules}",
        "en": "The lot meets the quantity requirements of {norm}. {rules}",
    },
    "lot_fail": {
        "vi": "Lô hàng không đạt yêu cầu về lượng theo {norm}. {rules}",
        "en": "The lot does not meet the quantity requirements of {norm}. {rules}",
    },
    "rules": {"vi": "Quy tắc quyết định: {rules}.", "en": "Decision rule(s): {rules}."},
    "failed_intro": {"vi": "Các phép thử không đạt: ", "en": "Tests failed: "},
    "failed_row": {
        "vi": "{test} tại {point}: {value}, giới hạn {mpe}, {how}",
        "en": "{test} at {point}: {value}, limit {mpe}, {how}",
    },
    "failed_min": {
        "vi": "{test}: {value}, yêu cầu tối thiểu {limit}, {how}",
        "en": "{test}: {value}, required at least {limit}, {how}",
    },
    "failed_max": {
        "vi": "{test}: {value}, cho phép tối đa {limit}, {how}",
        "en": "{test}: {value}, allowed at most {limit}, {how}",
    },
    "exceeds": {"vi": "vượt giới hạn {by}", "en": "beyond the limit by {by}"},
    "short": {"vi": "thiếu so với yêu cầu {by}", "en": "short of the requirement by {by}"},
    "mpe_lower": {"vi": "Giới hạn dưới (−MPE)", "en": "Lower limit (−MPE)"},
    "mpe_upper": {"vi": "Giới hạn trên (+MPE)", "en": "Upper limit (+MPE)"},
    "required": {"vi": "Giá trị yêu cầu", "en": "Required value"},
    "verif_unc": {
        "vi": "Kết quả kiểm định so với MPE theo quy tắc chấp nhận đơn giản; không nêu độ không đảm bảo đo.",
        "en": "Verification result judged against the MPE by simple acceptance; stated without an uncertainty.",
    },
    "verif_U": {
        "vi": "U nêu là U tính được (không áp dụng CMC: kiểm định, không phải hiệu chuẩn).",
        "en": "The stated U is the calculated U (no CMC floor: a verification, not a calibration).",
    },
    "lot_row": {
        "vi": "Kết quả kiểm tra lô, so với yêu cầu của R87; không nêu độ không đảm bảo đo.",
        "en": "Lot check result, judged against R87's requirement; stated without an uncertainty.",
    },
    "lot": {"vi": "Lô hàng đóng gói sẵn", "en": "Prepackage lot"},
    "lot_number": {"vi": "Số lô", "en": "Lot number"},
    "lot_desc": {
        "vi": "Lô hàng đóng gói sẵn số {lot}: {product}{brand}; lượng danh định Qn = {qn}; cỡ lô {size} gói; cỡ mẫu "
        "{n} gói; cơ sở đóng gói: {packer}{packed}{sampled}.",
        "en": "Prepackage lot no. {lot}: {product}{brand}; nominal quantity Qn = {qn}; lot size {size} "
        "prepackages; sample size {n} prepackages; packer: {packer}{packed}{sampled}.",
    },
    "brand": {"vi": ", nhãn hiệu {brand}", "en": ", brand {brand}"},
    "packed": {"vi": "; ngày đóng gói {day}", "en": "; packed on {day}"},
    "sampled": {"vi": "; lấy mẫu ngày {day} tại {place}", "en": "; sampled on {day} at {place}"},
    "nominal": {"vi": "Lượng danh định Qn", "en": "Nominal quantity Qn"},
    "lot_size": {"vi": "Cỡ lô (số gói)", "en": "Lot size (prepackages)"},
    "sample_size": {"vi": "Cỡ mẫu n (số gói)", "en": "Sample size n (prepackages)"},
    "mean_limit": {"vi": "Giới hạn dưới của giá trị trung bình Qn − λ·s", "en": "Lower limit of the mean Qn − λ·s"},
    "count_limit": {"vi": "Số gói cho phép tối đa", "en": "Largest number allowed"},
    "plan": {
        "vi": "Phương án lấy mẫu: n = {n}, λ = {lam}, c = {c}; T1 = {t1}, T2 = {t2}; giá trị trung bình {mean}, "
        "s = {s}, yêu cầu giá trị trung bình ≥ {limit}; số gói thiếu quá T1: {t1n} (cho phép {c}); thiếu quá T2: "
        "{t2n} (cho phép 0).",
        "en": "Sampling plan: n = {n}, λ = {lam}, c = {c}; T1 = {t1}, T2 = {t2}; mean {mean}, s = {s}, required "
        "mean ≥ {limit}; prepackages short by more than T1: {t1n} (allowed {c}); by more than T2: {t2n} (allowed "
        "0).",
    },
    "kind_decl": {"vi": "Loại văn bản: {title}", "en": "Kind of document: {title}"},
    "env_none": {
        "vi": "Không ghi điều kiện môi trường trong lần kiểm tra này (quy trình cân khối lượng tịnh không yêu cầu).",
        "en": "No environmental conditions were recorded for this check (the net-mass procedure does not ask for "
        "them).",
    },
    "env_name": {"vi": "Điều kiện môi trường", "en": "Environmental conditions"},
}
