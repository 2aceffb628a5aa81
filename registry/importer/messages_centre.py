"""The Vietnamese and English texts of the messages about a centre's records: laboratory, CMC table, staff,
reference standards and their certificates (:mod:`registry.importer.messages` explains the catalogue)."""

from __future__ import annotations

from registry.importer.messages_rows import NEED

#: code -> (Vietnamese, English) template with named fields (str.format); the same fields in both
CENTRE: dict[str, tuple[str, str]] = {
    # --- a centre's records ---------------------------------------------------------------------------------------
    "record.twice": ("trùng {what} với dòng {first}", "the same {what} as row {first}"),
    "record.registered": (
        "đã có trong cơ sở dữ liệu ({what} #{id}); nhập với --update để cập nhật theo tệp này",
        "already registered ({what} #{id}); import with --update to update it from this file",
    ),
    "required.lab_name": (NEED + "tên phòng thí nghiệm", "required: the laboratory's name"),
    "required.lab_address": (NEED + "địa chỉ phòng thí nghiệm", "required: the laboratory's address"),
    "numbering.unknown": (
        "{placeholder} không phải là trường của số giấy chứng nhận: dùng {allowed}",
        "{placeholder} is not a placeholder of a certificate number: use {allowed}",
    ),
    "numbering.no_seq": (
        "«{pattern}» không có {{seq}}: mỗi giấy chứng nhận cần một số thứ tự riêng",
        "'{pattern}' has no {{seq}}: every certificate needs its own running number",
    ),
    "numbering.bad": (
        "«{pattern}» không phải là mẫu đánh số ({detail}); ví dụ {{year}}/HC-{{seq:05d}}",
        "'{pattern}' is not a numbering pattern ({detail}); e.g. {{year}}/HC-{{seq:05d}}",
    ),
    "lab.logo_missing": (
        "không có tệp «{path}» cạnh bảng tính: vẫn giữ như đã ghi; hãy đặt tệp biểu trưng vào đó",
        "no file '{path}' next to the spreadsheet: kept as written; put the logo there",
    ),
    "lab.one_only": (
        "cơ sở dữ liệu chỉ có một phòng thí nghiệm: phòng thí nghiệm đã được ghi ở dòng {first}",
        "a registry holds one laboratory: this is already given in row {first}",
    ),
    "required.cmc_quantity": (NEED + "đại lượng (ví dụ «khối lượng»)", "required: the quantity (e.g. 'khối lượng')"),
    "required.cmc_method": (
        NEED + "phương pháp hoặc quy trình (ví dụ EURAMET cg-18)",
        "required: the method or procedure (e.g. EURAMET cg-18)",
    ),
    "required.cmc_range": (
        NEED + "phạm vi đo mà CMC áp dụng, kèm đơn vị (ví dụ 0 - 220 g)",
        "required: the range the CMC holds for, with its unit (e.g. 0 - 220 g)",
    ),
    "required.cmc": (
        NEED + "CMC (độ không đảm bảo đo mở rộng, k = 2) kèm đơn vị, ví dụ 0,1 mg hoặc 2 ppm",
        "required: the CMC (expanded uncertainty, k = 2) with its unit, e.g. 0.1 mg or 2 ppm",
    ),
    "cmc.not_range": (
        "«{text}» không phải là phạm vi đo có đơn vị (ví dụ 0 - 220 g hoặc 1 g - 200 g)",
        "'{text}' is not a range with a unit (e.g. 0 - 220 g or 1 g - 200 g)",
    ),
    "cmc.not_positive": ("{number}: CMC phải lớn hơn 0", "{number}: a CMC is more than 0"),
    "cmc.no_unit": (
        "{number} không có đơn vị: viết như 0,1 mg (tuyệt đối) hoặc 2 ppm / 0,01 % (tương đối)",
        "{number} has no unit: write it as 0.1 mg (absolute) or 2 ppm / 0.01 % (relative)",
    ),
    "cmc.dimension": (
        "CMC tính bằng {unit} không so được với phạm vi đo tính bằng {range_unit}: dùng cùng một thứ nguyên",
        "a CMC in {unit} cannot be compared with a range in {range_unit}: use one dimension",
    ),
    "role.unknown": (
        "«{item}» không phải là vai trò: viết «kỹ thuật viên», «soát xét» hoặc «người ký» (hay «technician», "
        "«reviewer», «signatory»)",
        "'{item}' is not a role: write technician ('kỹ thuật viên'), reviewer ('soát xét') or signatory ('người ký')",
    ),
    "procedures.all_unknown": (
        "«tất cả» cần biết danh sách quy trình: hãy ghi từng quy trình",
        "'all' needs the list of procedures: name them one by one",
    ),
    "procedures.unknown": (
        "«{item}» không phải là mã quy trình; các quy trình là: {known}",
        "'{item}' is not a procedure id; the procedures are: {known}",
    ),
    "required.username": (NEED + "tên đăng nhập (ví dụ «lan»)", "required: the login name (e.g. 'lan')"),
    "username.space": (
        "«{username}» có dấu cách: tên đăng nhập là một từ liền (ví dụ «lan» hoặc «nguyen.lan»)",
        "'{username}' has a space: a username is one word (e.g. 'lan' or 'nguyen.lan')",
    ),
    "required.full_name": (NEED + "họ và tên", "required: the person's full name"),
    "card.no_date": (
        "thẻ {card} cần ngày hết hiệu lực (dd/mm/yyyy)",
        "card {card} needs its validity date (dd/mm/yyyy)",
    ),
    "card.no_number": (
        "có ngày hiệu lực mà không có số thẻ: ghi số thẻ",
        "a validity date without a card number: write the card number",
    ),
    "authorisation.ends_before_start": (
        "{until} trước ngày bắt đầu được giao quyền ({start})",
        "{until} is before the authorisation starts ({start})",
    ),
    "roles.need_procedures": (
        "vai trò cần kèm các quy trình áp dụng (mã quy trình, hoặc «tất cả»)",
        "roles need the procedures they apply to (procedure ids, or 'all')",
    ),
    "procedures.need_roles": (
        "quy trình cần kèm vai trò của người đó (kỹ thuật viên, soát xét, người ký)",
        "procedures need the roles the person has in them (technician, reviewer, signatory)",
    ),
    "required.standard_code": (
        NEED + "mã chuẩn của phòng thí nghiệm (ví dụ W-E2-01)",
        "required: the lab's code of the standard (e.g. W-E2-01)",
    ),
    "required.standard_name": (NEED + "tên chuẩn", "required: its name"),
    "required.standard_kind": (NEED + "loại chuẩn", "required: its kind"),
    "code.space": (
        "«{code}» có dấu cách: mã chuẩn là một từ liền (ví dụ W-E2-01)",
        "'{code}' has a space: a code is one word (e.g. W-E2-01)",
    ),
    "standard.kind_unused": (
        "không quy trình nào dùng chuẩn loại «{kind}» (các quy trình dùng: {kinds}): vẫn đăng ký, nhưng không lần "
        "chạy nào chọn được chuẩn này",
        "no procedure uses a standard of kind '{kind}' (they use: {kinds}): registered, but no run can choose it",
    ),
    "standard.not_driver": (
        "«{model}» không phải là trình điều khiển thiết bị; các trình điều khiển là: {drivers}",
        "'{model}' is not a driver; the drivers are: {drivers}",
    ),
    "standard.driver_and_address": (
        "chuẩn được caltrace đọc số cần có cả kiểu trình điều khiển và địa chỉ (ví dụ `mt-sics` và "
        "`tcp://192.168.1.20:4001`); để trống cả hai nếu chuẩn không được đọc số",
        "a standard read by caltrace needs both its driver model and its address (e.g. `mt-sics` and "
        "`tcp://192.168.1.20:4001`); leave both empty for one that is not read",
    ),
    "standard.bad_address": ("địa chỉ không dùng được: {detail}", "unusable address: {detail}"),
    "standard.not_range": (
        "«{text}» không phải là phạm vi đo (ví dụ 1 g - 200 g, 0 - 50 °C)",
        "'{text}' is not a range (e.g. 1 g - 200 g, 0 - 50 °C)",
    ),
    "standard.resolution_unit": (
        "độ phân giải tính bằng {unit} không hợp với phạm vi đo tính bằng {range_unit}",
        "a resolution in {unit} does not fit a range in {range_unit}",
    ),
    "required.certificate_standard": (
        NEED + "mã của chuẩn mà giấy chứng nhận này cấp cho",
        "required: the code of the standard the certificate is for",
    ),
    "required.certificate_number": (NEED + "số giấy chứng nhận", "required: the certificate number"),
    "required.certificate_issuer": (
        NEED + "nơi cấp (ví dụ «Viện Đo lường Việt Nam»)",
        "required: who issued it (e.g. 'Viện Đo lường Việt Nam')",
    ),
    "required.calibrated_on": (NEED + "ngày hiệu chuẩn (dd/mm/yyyy)", "required: the calibration date (dd/mm/yyyy)"),
    "required.valid_until": (
        NEED + "ngày hết hiệu lực của kết quả hiệu chuẩn (dd/mm/yyyy)",
        "required: the date until which the calibration is valid (dd/mm/yyyy)",
    ),
    "required.uncertainty": (
        NEED + "độ không đảm bảo đo mở rộng U của giá trị, kèm đơn vị",
        "required: the expanded uncertainty U of the value, with its unit",
    ),
    "required.piece_nominal": (
        NEED + "giá trị danh định của từng quả cân trong bộ (ví dụ 200 g)",
        "required for a weight set: each piece's nominal value (e.g. 200 g)",
    ),
    "certificate.no_standard": (
        "không có chuẩn đo lường nào mã «{code}»: nhập các chuẩn trước",
        "no reference standard with code '{code}': import the standards first",
    ),
    "certificate.before_calibration": (
        "{date} trước ngày hiệu chuẩn ({calibrated})",
        "{date} is before the calibration ({calibrated})",
    ),
    "certificate.k_range": (
        "k = {k}: hệ số phủ phải nằm trong khoảng 1 đến 4 (thường là 2)",
        "k = {k}: a coverage factor lies between 1 and 4 (usually 2)",
    ),
    "certificate.density_unit": (
        "{quantity}: ghi khối lượng riêng bằng kg/m³ (ví dụ 8000)",
        "{quantity}: write the density in kg/m³ (e.g. 8000)",
    ),
    "certificate.u_not_positive": (
        "U = {u}: độ không đảm bảo đo mở rộng phải lớn hơn 0",
        "U = {u}: an expanded uncertainty is more than 0",
    ),
    "certificate.piece_u_not_positive": (
        "độ không đảm bảo đo mở rộng phải lớn hơn 0",
        "an expanded uncertainty is more than 0",
    ),
    "certificate.correction_not_weights": (
        "số hiệu chính chỉ dùng cho các quả cân của một bộ quả cân: ghi giá trị được chứng nhận",
        "a correction is for a weight set's pieces: give the certified value",
    ),
    "certificate.need_value": (
        "mỗi dòng cần giá trị được chứng nhận, hoặc đại lượng (ví dụ nhiệt độ) mà U áp dụng",
        "each row needs the certified value, or the quantity (e.g. temperature) its U is for",
    ),
    "certificate.u_unit": (
        "U tính bằng {u_unit} không hợp với giá trị tính bằng {unit}",
        "U in {u_unit} does not fit a value in {unit}",
    ),
    "certificate.no_unit": (
        "{number} không có đơn vị: ghi kèm đơn vị (ví dụ 200 g, +0,12 mg)",
        "{number} has no unit: write it with one (e.g. 200 g, +0.12 mg)",
    ),
    "certificate.not_mass": (
        "{unit} không phải là đơn vị khối lượng: giá trị của bộ quả cân tính bằng g, mg hoặc kg",
        "{unit} is not a unit of mass: a weight set's values are in g, mg or kg",
    ),
    "certificate.value_and_correction": (
        "chỉ ghi một trong hai: khối lượng quy ước của quả cân (giá trị) hoặc số hiệu chính khối lượng quy ước, "
        "không ghi cả hai",
        "give either the piece's conventional mass (value) or its conventional-mass correction, not both",
    ),
    "certificate.value_or_correction": (
        "ghi một trong hai: khối lượng quy ước của quả cân (giá trị) hoặc số hiệu chính khối lượng quy ước; dòng "
        "này chưa ghi cái nào",
        "give either the piece's conventional mass (value) or its conventional-mass correction, not neither",
    ),
    "certificate.class_note": ("vẫn giữ như giấy chứng nhận, nhưng: {note}", "kept as certified, but: {note}"),
    "certificate.registered": (
        "giấy chứng nhận {number} của {issuer} đã có trong cơ sở dữ liệu; nhập với --update để thay các giá trị "
        "theo tệp này",
        "certificate {number} of {issuer} is already registered; import with --update to replace its values from "
        "this file",
    ),
    "certificate.used": (
        "giấy chứng nhận {number} đã được một lần chạy sử dụng: giấy chứng nhận đã dùng thì không bao giờ bị sửa",
        "certificate {number} was used by a run: a used certificate is never changed",
    ),
    "certificate.inconsistent": (
        "cùng giấy chứng nhận với dòng {first} nhưng khác chuẩn hoặc khác ngày: chỉ ghi một bộ thông tin",
        "the same certificate as row {first} with another standard or other dates: give them once",
    ),
    "certificate.same_piece": (
        "trùng quả cân «{label}» với dòng {first} của giấy chứng nhận này",
        "the same piece '{label}' as row {first} of this certificate",
    ),
    "certificate.rejected_row": (
        "giấy chứng nhận {number} có dòng bị từ chối (dòng {bad}): giấy chứng nhận được nhập trọn vẹn; không dòng "
        "nào của nó được nhận",
        "certificate {number} has a rejected row ({bad}): a certificate is imported whole; none of its rows was taken",
    ),
}
