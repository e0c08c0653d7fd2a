/** The app's words, Vietnamese first, English with one button. Words for coded values
 * (statuses, attendance, kinds) come from schema/labels.py through the SDK's ``label``. */

import { label as codeLabel, type Lang } from "../src/labels.js"

const WORDS = {
  app_title: ["Sổ tay đảng viên", "Party Member Handbook"],
  switch_lang: ["English", "Tiếng Việt"],
  text_smaller: ["Chữ nhỏ hơn", "Smaller text"],
  text_larger: ["Chữ lớn hơn", "Larger text"],
  tab_roster: ["Đảng viên", "Members"],
  tab_meetings: ["Sinh hoạt", "Meetings"],
  tab_tasks: ["Công việc", "Tasks"],
  tab_me: ["Của tôi", "Mine"],
  tab_problems: ["Cần xem", "To review"],
  web_code_title: ["Trang tổng hợp trên máy tính", "The dashboard on a computer"],
  web_code_button: ["Lấy mã đăng nhập", "Get a sign-in code"],
  web_code_until: ["— dùng một lần, hết hạn lúc", "— works once, expires at"],
  web_code_where: ["Nhập mã tại", "Type it at"],
  // status
  online_synced: ["Đã đồng bộ", "Synced"],
  offline: ["Ngoại tuyến", "Offline"],
  connecting: ["Đang kết nối", "Connecting"],
  pending: ["thay đổi chờ gửi", "change(s) waiting to be sent"],
  last_sync: ["Lần đồng bộ cuối", "Last sync"],
  never_synced: ["chưa đồng bộ", "never synced"],
  conflicts: ["xung đột cần xem", "conflict(s) to review"],
  refusals: ["thay đổi bị từ chối", "change(s) refused"],
  held: [
    "Thiết bị đang chờ bí thư chi bộ xác nhận: bạn xem được dữ liệu, chưa sửa được.",
    "This device waits for the cell secretary's confirmation: you can read, not yet change.",
  ],
  // enrolment
  enrol_title: ["Đăng ký thiết bị", "Enrol this device"],
  enrol_intro: [
    "Nhập số thẻ đảng, chụp ảnh thẻ và ảnh chân dung của bạn. Không cần mật khẩu.",
    "Enter your party card number, take a photo of the card and of your face. No password.",
  ],
  card_number: ["Số thẻ đảng", "Party card number"],
  card_photo: ["Ảnh thẻ đảng", "Photo of the party card"],
  selfie: ["Ảnh chân dung", "Photo of your face"],
  enrol_submit: ["Đăng ký", "Enrol"],
  enrolling: ["Đang kiểm tra ảnh…", "Checking the photos…"],
  // roster
  roster_title: ["Danh sách đảng viên", "Cell roster"],
  add_member: ["Thêm đảng viên", "Add member"],
  full_name: ["Họ và tên", "Full name"],
  birth_date: ["Ngày sinh", "Date of birth"],
  joined_date: ["Ngày vào Đảng", "Joined the Party"],
  official_date: ["Ngày chính thức", "Full membership date"],
  phone: ["Số điện thoại", "Phone"],
  residence_place: ["Nơi cư trú", "Place of residence"],
  residence_registered: ["Đã đăng ký sinh hoạt nơi cư trú", "Registered at the place of residence"],
  status: ["Trạng thái", "Status"],
  save: ["Lưu", "Save"],
  cancel: ["Đóng", "Close"],
  history: ["Lịch sử trạng thái", "Status history"],
  change_status: ["Đổi trạng thái", "Change status"],
  reason: ["Lý do", "Reason"],
  date: ["Ngày", "Date"],
  correction: ["Đính chính (sửa sai sót)", "Correction (fixes a mistake)"],
  transfer: ["Giấy chuyển sinh hoạt", "Transfer paper"],
  direction: ["Chiều chuyển", "Direction"],
  other_unit: ["Đơn vị đi/đến", "Other unit"],
  letter_number: ["Số giấy", "Letter number"],
  transfers: ["Giấy chuyển sinh hoạt đã ghi", "Recorded transfers"],
  no_members: ["Chưa có đảng viên.", "No members yet."],
  read_only_roster: ["Chỉ bí thư, phó bí thư sửa danh sách.", "Only the secretary or deputy changes the roster."],
  // meetings
  meetings_title: ["Sinh hoạt chi bộ", "Cell meetings"],
  schedule: ["Lên lịch buổi sinh hoạt", "Schedule a meeting"],
  kind: ["Loại", "Kind"],
  agenda: ["Nội dung", "Agenda"],
  attendance: ["Điểm danh", "Attendance"],
  minutes: ["Biên bản", "Minutes"],
  save_minutes: ["Lưu biên bản", "Save minutes"],
  resolutions: ["Nghị quyết", "Resolutions"],
  add_resolution: ["Thêm nghị quyết", "Add resolution"],
  title: ["Tên", "Title"],
  number: ["Số", "Number"],
  studied_date: ["Ngày học tập", "Studied on"],
  studied: ["đảng viên đã học tập", "member(s) studied it"],
  studied_by: ["Đã học tập:", "Studied:"],
  record_study: ["Ghi nhận học tập nghị quyết", "Record who studied it"],
  withdraw_study: ["Rút lại (ghi nhầm)", "Withdraw (recorded by mistake)"],
  choose_members: ["Hãy chọn ít nhất một đảng viên.", "Choose at least one member."],
  my_studies: ["Nghị quyết tôi đã học", "Resolutions I studied"],
  no_resolutions: ["Chi bộ chưa có nghị quyết nào.", "The cell has no resolutions yet."],
  studied_on: ["Đã học ngày", "Studied on"],
  i_studied: ["Tôi đã học nghị quyết này", "I studied this resolution"],
  photo_minutes: ["Ảnh biên bản viết tay", "Photo of handwritten minutes"],
  attachments: ["Tệp đính kèm", "Attachments"],
  photo_of: ["Ảnh", "Photo"],
  waiting_upload: ["chờ gửi", "waiting to upload"],
  no_meetings: ["Chưa có buổi sinh hoạt.", "No meetings yet."],
  // tasks
  tasks_title: ["Công việc", "Tasks"],
  my_tasks: ["Việc của tôi", "My tasks"],
  assign: ["Giao việc", "Assign a task"],
  assignee: ["Người thực hiện", "Assignee"],
  due_date: ["Hạn", "Due"],
  description: ["Mô tả", "Description"],
  progress: ["Tiến độ", "Progress"],
  add_progress: ["Ghi tiến độ", "Report progress"],
  start: ["Bắt đầu", "Start"],
  complete: ["Hoàn thành", "Done"],
  cancel_task: ["Hủy việc", "Cancel task"],
  reopen: ["Mở lại (đính chính)", "Reopen (correction)"],
  no_tasks: ["Chưa có công việc.", "No tasks."],
  // me
  me_title: ["Thông tin của tôi", "My details"],
  // problems
  problems_title: ["Cần xem lại", "To review"],
  refused_title: ["Thay đổi máy chủ không nhận", "Changes the server did not accept"],
  conflicts_title: ["Xung đột giữa các thiết bị", "Conflicts between devices"],
  nothing: ["Không có gì cần xem.", "Nothing to review."],
  confirm_status: ["Xác nhận trạng thái này", "Confirm this status"],
  confirm_reason: ["Bí thư xác nhận sau xung đột", "Confirmed by the secretary after a conflict"],
  merge_keep_first: ["Gộp: giữ hồ sơ 1", "Merge: keep record 1"],
  merge_keep_second: ["Gộp: giữ hồ sơ 2", "Merge: keep record 2"],
  keep_both: ["Hai người khác nhau: giữ cả hai", "Different people: keep both"],
  saved: ["Đã lưu trên máy", "Saved on this device"],
  not_synced_yet: [
    "Chưa nhận dữ liệu chi bộ: cần kết nối mạng cho lần đồng bộ đầu tiên.",
    "No cell data yet: the first sync needs a connection.",
  ],
} as const

export type Key = keyof typeof WORDS

let lang: Lang = (localStorage.getItem("sotay.lang") as Lang | null) ?? "vi"

export function getLang(): Lang {
  return lang
}

export function setLang(next: Lang): void {
  lang = next
  localStorage.setItem("sotay.lang", next)
  document.documentElement.lang = next
}

export function t(key: Key): string {
  return WORDS[key][lang === "vi" ? 0 : 1]
}

/** The words for a coded value (member_status, task_status, attendance, meeting_kind, …). */
export function code(table: string, value: string): string {
  return codeLabel(table, value, lang)
}

/** Operation names people read in the refusal list. */
export function operationLabel(name: string): string {
  const vi: Record<string, [string, string]> = {
    "roster.add_member": ["Thêm đảng viên", "Add member"],
    "roster.update_member": ["Sửa thông tin đảng viên", "Edit member"],
    "roster.change_status": ["Đổi trạng thái đảng viên", "Change member status"],
    "roster.record_transfer": ["Ghi giấy chuyển sinh hoạt", "Record transfer"],
    "meetings.schedule": ["Lên lịch sinh hoạt", "Schedule meeting"],
    "meetings.record_attendance": ["Điểm danh", "Attendance"],
    "meetings.edit_minutes": ["Sửa biên bản", "Edit minutes"],
    "meetings.add_resolution": ["Thêm nghị quyết", "Add resolution"],
    "meetings.add_attachment": ["Đính kèm ảnh", "Attach photo"],
    "meetings.record_study": ["Ghi nhận học tập nghị quyết", "Record study"],
    "meetings.withdraw_study": ["Rút lại ghi nhận học tập", "Withdraw study"],
    "tasks.assign": ["Giao việc", "Assign task"],
    "tasks.add_progress": ["Ghi tiến độ", "Report progress"],
  }
  const words = vi[name]
  return words ? words[lang === "vi" ? 0 : 1] : name
}
