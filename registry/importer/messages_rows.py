"""The Vietnamese and English texts of the messages about a spreadsheet file, its header, its cells, and the rows of
customers' instruments and lots (:mod:`registry.importer.messages` explains the catalogue)."""

from __future__ import annotations

NEED = "trống — cần "  # a required cell left empty: "trống — cần số sản xuất của phương tiện đo"

#: code -> (Vietnamese, English) template with named fields (str.format); the same fields in both
ROWS: dict[str, tuple[str, str]] = {
    # --- the file -----------------------------------------------------------------------------------------------
    "file.wrong_type": (
        "{file}: cần tệp .csv hoặc .xlsx, không phải {suffix}",
        "{file}: expected a .csv or .xlsx file, not {suffix}",
    ),
    "file.no_extension": (
        "{file}: cần tệp .csv hoặc .xlsx, tệp này không có phần mở rộng",
        "{file}: expected a .csv or .xlsx file, not no extension",
    ),
    "file.old_xls": (
        "{file}: cần tệp .csv hoặc .xlsx, không phải .xls (định dạng Excel cũ: lưu lại dưới dạng .xlsx)",
        "{file}: expected a .csv or .xlsx file, not .xls (old Excel format: save it as .xlsx)",
    ),
    "file.too_big": (
        "{file} nặng {size_mb} MB; mỗi lần nhập đọc tối đa {limit_mb} MB (khoảng một triệu dòng): hãy chia nhỏ tệp",
        "{file} is {size_mb} MB; an import takes at most {limit_mb} MB (about a million rows): split the file",
    ),
    "file.not_found": ("{path}: không có tệp này", "{path}: no such file"),
    "file.directory": ("{path} là thư mục, không phải bảng tính", "{path} is a directory, not a spreadsheet"),
    "file.unreadable": ("không đọc được {path}: {detail}", "cannot read {path}: {detail}"),
    "file.empty": (
        "{file} trống: cần một dòng tiêu đề ({expected}) và các dòng {record}",
        "{file} is empty: expected a header row ({expected}) and {record} rows",
    ),
    "file.no_rows": (
        "{file} không có dòng nào: cần một dòng tiêu đề ({expected}) và các dòng {record}",
        "{file} has no rows: expected a header row ({expected}) and {record} rows",
    ),
    "file.no_body": (
        "{file} có dòng tiêu đề (dòng {header_row}) nhưng bên dưới không có dòng {record} nào",
        "{file} has a header (row {header_row}) but no {record} rows below it",
    ),
    "file.utf16_broken": (
        "{file}: văn bản UTF-16 bị hỏng ở byte {byte}: lưu lại tệp dưới dạng CSV UTF-8",
        "{file}: broken UTF-16 text at byte {byte}: save it again as CSV UTF-8",
    ),
    "file.encoding": (
        "{file}: văn bản không phải UTF-8 cũng không phải Windows-1258 (byte {byte}); trong Excel chọn Tệp > Lưu "
        "thành > «CSV UTF-8 (Comma delimited)»",
        "{file}: the text is neither UTF-8 nor Windows-1258 (byte {byte}); in Excel use File > Save As > "
        "'CSV UTF-8 (Comma delimited)'",
    ),
    "file.xlsx_as_csv": (
        "{file} là sổ tính Excel (.xlsx), không phải văn bản CSV: đổi đuôi tệp thành .xlsx",
        "{file} is an Excel workbook (.xlsx), not CSV text: rename it to .xlsx",
    ),
    "file.xls_as_csv": (
        "{file} là sổ tính Excel .xls kiểu cũ, không phải văn bản CSV: lưu lại dưới dạng .xlsx hoặc CSV UTF-8",
        "{file} is an old Excel .xls workbook, not CSV text: save it as .xlsx or CSV UTF-8",
    ),
    "file.nul": (
        "{file} chứa byte NUL: đây không phải là tệp văn bản (CSV)",
        "{file} contains NUL bytes: it is not a text (CSV) file",
    ),
    "file.csv_error": (
        "{file}: không đọc được dưới dạng CSV (dòng {line}: {detail})",
        "{file}: not readable as CSV (line {line}): {detail}",
    ),
    "file.csv_long_cell": (
        "{file}: không đọc được dưới dạng CSV (dòng {line}: {detail}): một ô dài như vậy thường là do một dấu "
        'ngoặc kép (") thừa khiến cả phần còn lại của tệp thành một ô; xoá dấu đó, hoặc đặt cả ô trong ngoặc kép',
        "{file}: not readable as CSV (line {line}): {detail}: a cell this long is most often a stray double quote "
        '(") that makes the rest of the file one cell; remove it, or quote the whole cell',
    ),
    "file.encrypted": (
        "{file} có mật khẩu (đã mã hoá) hoặc là sổ tính .xls kiểu cũ mang đuôi .xlsx: gỡ mật khẩu (Tệp > Thông tin "
        "> Bảo vệ Sổ làm việc) hoặc lưu lại dưới dạng .xlsx, rồi nhập lại",
        "{file} is password-protected (encrypted) or an old .xls workbook under an .xlsx name: remove the password "
        "(File > Info > Protect Workbook) or save it as .xlsx, then import again",
    ),
    "file.not_xlsx": (
        "{file} không phải là sổ tính Excel .xlsx (là tệp CSV? hãy đổi đuôi thành .csv)",
        "{file} is not an Excel .xlsx workbook (a CSV? rename it to .csv)",
    ),
    "file.damaged_xlsx": (
        "{file} là sổ tính .xlsx bị hỏng ({detail}): mở bằng Excel rồi lưu lại",
        "{file} is a damaged .xlsx workbook ({detail}): open it in Excel and save it again",
    ),
    "file.no_sheet": ("{file} không có trang tính nào", "{file} has no worksheet"),
    "file.duplicate_column": (
        "{file}: cột {first} («{first_header}») và cột {second} («{second_header}») cùng là cột {column}: chỉ giữ "
        "một cột",
        "{file}: columns {first} ('{first_header}') and {second} ('{second_header}') both mean {column}: keep one",
    ),
    "file.missing_column": (
        "{file}: thiếu cột {columns} (dòng tiêu đề là dòng {header_row}). Dòng tiêu đề cần có: {expected} "
        "[không bắt buộc: {optional}]; cũng nhận tiêu đề tiếng Việt như {vietnamese}",
        "{file}: missing column {columns} (header row {header_row}). Expected the header: {expected} "
        "[optional: {optional}]; Vietnamese headers such as {vietnamese} are accepted too",
    ),
    "file.missing_columns": (
        "{file}: thiếu các cột {columns} (dòng tiêu đề là dòng {header_row}). Dòng tiêu đề cần có: {expected} "
        "[không bắt buộc: {optional}]; cũng nhận tiêu đề tiếng Việt như {vietnamese}",
        "{file}: missing columns {columns} (header row {header_row}). Expected the header: {expected} "
        "[optional: {optional}]; Vietnamese headers such as {vietnamese} are accepted too",
    ),
    "header.unknown": ("không phải là cột đã biết: bỏ qua", "not a known column: ignored"),
    "lab.none": (
        "chưa có phòng thí nghiệm nào trong cơ sở dữ liệu: nhập phòng thí nghiệm trước "
        "(`caltrace registry import laboratory FILE`), rồi mới nhập bảng CMC",
        "no laboratory is registered yet: import it first (`caltrace registry import laboratory FILE`), "
        "then its CMC table",
    ),
    # --- one cell -----------------------------------------------------------------------------------------------
    "cell.date_in_text": (
        "bảng tính đã tự đổi ô này thành ngày/giờ ({value}): định dạng cột là Văn bản (Text) rồi gõ lại",
        "the spreadsheet turned this into a date/time ({value}): format the column as Text and type it again",
    ),
    "cell.too_long": ("dài quá {limit} ký tự ({length} ký tự)", "longer than {limit} characters ({length})"),
    "cell.formula": (
        "«{shown}» bắt đầu bằng «{first}» nên bảng tính có thể chạy nó như một công thức: vẫn giữ dạng văn bản "
        "(không tính); kiểm tra lại xem khách hàng có thật sự ghi như vậy không",
        "'{shown}' starts with '{first}', so a spreadsheet could run it as a formula: kept as text (not "
        "evaluated); check it is what the customer wrote",
    ),
    "number.not_number": ("«{token}» không phải là số", "'{token}' is not a number"),
    "number.mixed": (
        "«{token}» dùng lẫn dấu «.» và «,» nên không đọc được thành số",
        "'{token}' mixes '.' and ',' in a way that is not a number",
    ),
    "number.ambiguous": (
        "«{token}» không rõ nghĩa (dấu «{separator}» là dấu phân cách hàng nghìn hay dấu thập phân?): viết "
        "{as_integer} hoặc {as_decimal}",
        "'{token}' is ambiguous (thousands separator or decimal '{separator}'?): write {as_integer} or {as_decimal}",
    ),
    "range.units": (
        "hai đầu của phạm vi đo ghi bằng hai đơn vị {low_unit} và {unit}: ghi cả hai bằng cùng một đơn vị",
        "the range's ends are in {low_unit} and {unit}: write both in one unit",
    ),
    "range.min_above_max": (
        "giá trị nhỏ nhất {low} của phạm vi đo lớn hơn giá trị lớn nhất {high}",
        "the range's minimum {low} is above its maximum {high}",
    ),
    "quantity.not_quantity": (
        "«{text}» không phải là một số (có thể kèm đơn vị), ví dụ 0,1 mg hoặc 0,01 °C",
        "'{text}' is not a number with an optional unit (e.g. '0.1 mg', or '0,01 °C' with a decimal comma)",
    ),
    "date.number": (
        "{value} là một số, không phải ngày: định dạng ô là ngày hoặc viết dd/mm/yyyy",
        "{value} is a number, not a date: format the cell as a date or write dd/mm/yyyy",
    ),
    "date.not_date_value": ("{value} không phải là ngày: viết dd/mm/yyyy", "{value} is not a date: write dd/mm/yyyy"),
    "date.future": (
        "{found} là ngày trong tương lai (hôm nay là {today})",
        "{found} is in the future (today is {today})",
    ),
    "date.too_early": (
        "{found} trước năm {year}: kiểm tra lại năm (ô ngày để trống trong Excel hiện thành năm 1900)",
        "{found} is before {year}: check the year (an empty Excel date cell shows as 1900)",
    ),
    "date.too_early_short": ("{value} trước năm {year}: kiểm tra lại năm", "{value} is before {year}: check the year"),
    "date.not_calendar": (
        "«{text}» không phải là ngày có thật trên lịch (dạng {form}: {detail})",
        "'{text}' is not a calendar date ({form}: {detail})",
    ),
    "date.two_digit_year": (
        "«{text}» ghi năm bằng hai chữ số: viết đủ bốn chữ số của năm (dd/mm/yyyy)",
        "'{text}' has a two-digit year: write the year in full (dd/mm/yyyy)",
    ),
    "date.not_date": (
        "«{text}» không phải là ngày: viết dd/mm/yyyy (ví dụ 15/03/2026) hoặc yyyy-mm-dd",
        "'{text}' is not a date: write dd/mm/yyyy (e.g. 15/03/2026) or yyyy-mm-dd",
    ),
    "interval.required": (
        NEED + "chu kỳ hiệu chuẩn/kiểm định tính bằng tháng (ví dụ 12)",
        "required: the calibration/verification interval in months (e.g. 12)",
    ),
    "interval.not_months": ("«{text}» không phải là số tháng", "'{text}' is not a number of months"),
    "interval.not_whole": ("{number} không phải là số tháng nguyên", "{number} is not a whole number of months"),
    "interval.too_short": (
        "{number} tháng: chu kỳ phải ít nhất là 1 tháng",
        "{number} months: the interval must be at least 1 month",
    ),
    "interval.too_long": (
        "{number} tháng dài hơn {limit} tháng (10 năm): kiểm tra lại cột này",
        "{number} months is longer than {limit} months (10 years): check the column",
    ),
    "bool.not_bool": (
        "«{text}» không phải là có/không: viết có, không, x, «yes» hoặc «no» (để trống = không)",
        "'{text}' is not yes/no: write yes, no, x, 'có' or 'không' (empty = no)",
    ),
    "tax.nine_digits": (
        "{digits} chỉ có 9 chữ số: có lẽ bảng tính đã bỏ mất số 0 ở đầu mã số thuế 10 chữ số; định dạng cột là "
        "Văn bản (Text) và viết đủ 10 chữ số",
        "{digits} has 9 digits: the spreadsheet probably dropped the leading 0 of a 10-digit tax code; format the "
        "column as Text and write all 10 digits",
    ),
    "tax.not_tax": (
        "«{text}» không phải là mã số thuế: 10 chữ số, hoặc với chi nhánh là 10 chữ số, dấu «-» và 3 chữ số",
        "'{text}' is not a tax code: 10 digits, or 10 digits '-' 3 digits for a branch",
    ),
    "field.unknown": (
        "«{text}» không phải là lĩnh vực đo: viết một trong {allowed} (hoặc tên tiếng Việt như «khối lượng», "
        "«nhiệt độ»), hoặc để trống",
        "'{text}' is not a metrology field: write one of {allowed} (or leave it empty)",
    ),
    # --- owners (customers, packers) ------------------------------------------------------------------------------
    "owner.tax_code_elsewhere": (
        "mã số thuế {tax_code} là của «{owner}»: bản ghi được gán cho khách hàng đó",
        "tax code {tax_code} belongs to '{owner}': the instrument goes to that customer",
    ),
    "owner.ambiguous_untaxed": (
        "có nhiều khách hàng cùng tên «{customer}» mà không có mã số thuế",
        "several customers are named '{customer}' without a tax code",
    ),
    "owner.ambiguous": (
        "có nhiều khách hàng cùng tên «{customer}» (mã số thuế {codes}): thêm cột {column}_tax_code để chỉ rõ "
        "khách hàng nào",
        "several customers are named '{customer}' (tax codes {codes}): add the {column}_tax_code column to say which",
    ),
    "owner.changes": (
        "{record} #{id} đổi chủ sở hữu từ «{old}» sang «{new}»",
        "{record} #{id} changes owner from '{old}' to '{new}'",
    ),
    # --- instruments ----------------------------------------------------------------------------------------------
    "required.customer": (
        NEED + "tên khách hàng (chủ sở hữu) của phương tiện đo",
        "required: the customer (owner) of the instrument",
    ),
    "required.customer_merged": (
        NEED + "tên khách hàng (chủ sở hữu) của phương tiện đo (ô bị gộp? bỏ gộp ô và điền khách hàng vào từng dòng)",
        "required: the customer (owner) of the instrument (merged cells? unmerge them and fill the customer in on "
        "every row)",
    ),
    "required.kind": (
        NEED + "tên phương tiện đo (ví dụ «Cân phân tích», «Đồng hồ nước»)",
        "required: what the instrument is (e.g. 'Cân phân tích', 'Đồng hồ nước')",
    ),
    "required.serial_number": (NEED + "số sản xuất của phương tiện đo", "required: the instrument's serial number"),
    "serial.placeholder": (
        "«{serial}» không phải là số sản xuất: ghi (khắc) một ký hiệu lên phương tiện đo rồi ghi ký hiệu đó vào đây",
        "'{serial}' is not a serial number: mark the instrument and write that mark",
    ),
    "range.kept_as_text": (
        "«{text}» được giữ nguyên dạng chữ: không đọc được giá trị nhỏ nhất/lớn nhất từ đó",
        "'{text}' is kept as text: no minimum/maximum could be read from it",
    ),
    "range.too_long": ("dài quá {limit} ký tự", "longer than {limit} characters"),
    "range.unit_too_long": (
        "đơn vị «{unit}» dài quá {limit} ký tự",
        "the unit '{unit}' is longer than {limit} characters",
    ),
    "range.no_unit": (
        "phạm vi đo «{range}» không có đơn vị nhưng độ phân giải tính bằng {unit}: ghi phạm vi đo kèm đơn vị "
        "(ví dụ {range} {unit})",
        "the range '{range}' has no unit but the resolution is in {unit}: write the range with its unit "
        "(e.g. {range} {unit})",
    ),
    "resolution.not_positive": (
        "{quantity}: độ phân giải phải lớn hơn 0",
        "{quantity}: the resolution must be positive",
    ),
    "resolution.other_quantity": (
        "{source} ({source_quantity}) không thể là độ phân giải của phạm vi đo tính bằng {target} "
        "({target_quantity}): độ phân giải phải cùng đại lượng với phạm vi đo (với phạm vi lưu lượng là thể "
        "tích); kiểm tra lại đơn vị, hoặc để trống độ phân giải",
        "{source} ({source_quantity}) cannot be the resolution of a range in {target} ({target_quantity}): a "
        "resolution is in the range's quantity (or, for a flow range, its volume); check the unit, or leave the "
        "resolution empty",
    ),
    "resolution.unknown_unit": (
        "không đổi được {source} sang đơn vị {target} của phạm vi đo (caltrace không biết {unknown}): dùng cùng "
        "một đơn vị",
        "{source} cannot be converted to the range's unit {target} ({unknown} unknown to caltrace): use one unit",
    ),
    "instrument.twice": (
        "trùng phương tiện đo ({described}) với dòng {first} của tệp này",
        "the same instrument ({described}) as row {first} of this file",
    ),
    "instrument.registered": (
        "đã có trong cơ sở dữ liệu: phương tiện đo #{id} ({described}) của {owner}; nhập với --update để cập "
        "nhật theo tệp này",
        "already registered: instrument #{id} ({described}) of {owner}; import with --update to update it from "
        "this file",
    ),
    # --- lots -----------------------------------------------------------------------------------------------------
    "lot_size.required": (
        NEED + "số bao gói sẵn trong lô (ví dụ 500)",
        "required: the number of prepackages in the lot (e.g. 500)",
    ),
    "lot_size.not_count": ("«{text}» không phải là số bao gói", "'{text}' is not a number of prepackages"),
    "lot_size.not_whole": (
        "{number} không phải là số bao gói nguyên (từ 1 trở lên)",
        "{number} is not a whole number of prepackages (1 or more)",
    ),
    "required.packer": (
        NEED + "tên cơ sở đóng gói hoặc nhập khẩu hàng",
        "required: the enterprise that packed or imported the goods",
    ),
    "required.product": (
        NEED + "tên hàng hoá (ví dụ «Đường kính trắng túi 500 g»)",
        "required: what the goods are (e.g. 'Đường kính trắng túi 500 g')",
    ),
    "required.lot_number": (NEED + "số lô in trên bao gói", "required: the lot number printed on the packages"),
    "required.nominal": (
        NEED + "lượng danh định Qn ghi trên mỗi bao gói",
        "required: the nominal quantity Qn labelled on each package",
    ),
    "lot.sampled_before_packed": (
        "ngày lấy mẫu {sampled} trước ngày đóng gói ({packed}): kiểm tra lại cả hai ngày",
        "sampled on {sampled}, before the goods were packed ({packed}): check both dates",
    ),
    "nominal.unit_conflict": (
        "lượng danh định ghi {unit} nhưng cột đơn vị ghi {column_unit}: chỉ giữ một",
        "the quantity says {unit} but the unit column {column_unit}: keep one",
    ),
    "nominal.bad_unit": (
        "«{unit}»: lượng danh định phải tính bằng g, kg, mL hoặc L (ví dụ 500 g)",
        "'{unit}': the nominal quantity must be in g, kg, mL or L (e.g. 500 g)",
    ),
    "nominal.no_unit": (
        "không có đơn vị: lượng danh định phải tính bằng g, kg, mL hoặc L (ví dụ 500 g)",
        "no unit: the nominal quantity must be in g, kg, mL or L (e.g. 500 g)",
    ),
    "nominal.not_positive": (
        "{quantity}: lượng danh định phải lớn hơn 0",
        "{quantity}: the nominal quantity must be more than 0",
    ),
    "lot.twice": (
        "trùng lô ({number} của {packer}) với dòng {first}",
        "the same lot ({number} of {packer}) as row {first}",
    ),
    "lot.registered": (
        "đã có trong cơ sở dữ liệu: lô #{id} ({number}) của {packer}; nhập với --update để cập nhật theo tệp này",
        "already registered: lot #{id} ({number}) of {packer}; import with --update to update it from this file",
    ),
    "lot.registered_checked": (
        "đã có trong cơ sở dữ liệu: lô #{id} ({number}) của {packer}",
        "already registered: lot #{id} ({number}) of {packer}",
    ),
    "lot.checked_once": (
        "lô #{id} ({number}) của {packer} đã được kiểm tra trong lần chạy {runs}: việc nhập không sửa hồ sơ của "
        "lô đã kiểm tra (dòng này đổi {changed}); hãy sửa bằng cách điều chỉnh kết quả hoặc giấy chứng nhận của "
        "lần kiểm tra",
        "lot #{id} ({number}) of {packer} was checked in run {runs}: import does not change a checked lot's record "
        "(this row changes {changed}); correct it by amending the check's result or certificate",
    ),
    "lot.checked_many": (
        "lô #{id} ({number}) của {packer} đã được kiểm tra trong các lần chạy {runs}: việc nhập không sửa hồ sơ "
        "của lô đã kiểm tra (dòng này đổi {changed}); hãy sửa bằng cách điều chỉnh kết quả hoặc giấy chứng nhận "
        "của lần kiểm tra",
        "lot #{id} ({number}) of {packer} was checked in runs {runs}: import does not change a checked lot's "
        "record (this row changes {changed}); correct it by amending the check's result or certificate",
    ),
}
