"""Every prompt the IVR and the dialplan play: key → Persian text (the one place prompts are written)."""

from __future__ import annotations

from callcenter.platform.calendar import JALALI_MONTHS

PROMPTS: dict[str, str] = {
    "welcome_137": "با سامانه ۱۳۷ شهرداری قزوین تماس گرفته‌اید. به شما خوش آمدید.",
    "welcome_1888": "با سامانه ۱۸۸۸ شهرداری قزوین، برای انتقاد، پیشنهاد و قدردانی، تماس گرفته‌اید.",
    "menu_137": "برای ثبت درخواست جدید، عدد یک. برای پیگیری درخواست با کد رهگیری، عدد دو. "
                "و برای گفتگو با کارشناس، عدد صفر را فشار دهید.",
    "you_have_open_request": "شما یک درخواست باز دارید با کد رهگیری",
    "press_1_for_status": "برای شنیدن وضعیت آن، عدد یک را فشار دهید.",
    "enter_tracking_code": "لطفاً کد رهگیری را وارد کنید و در پایان، کلید مربع را فشار دهید.",
    "invalid_tracking_code": "کد رهگیری وارد شده نادرست است.",
    "tracking_code_not_found": "درخواستی با این کد رهگیری پیدا نشد.",
    "status_of_request": "وضعیت درخواست با کد رهگیری",
    "status_registered": "ثبت شده و در انتظار ارجاع به واحد مسئول است.",
    "status_referred": "به واحد مسئول ارجاع شده و در انتظار پذیرش است.",
    "status_accepted": "در دست اقدام واحد مسئول است.",
    "status_done": "واحد مسئول انجام کار را اعلام کرده است و به‌زودی نظر شما پرسیده می‌شود.",
    "status_awaiting_verification": "انجام شده و در انتظار تأیید شماست؛ برای پرسیدن نظرتان با شما تماس می‌گیریم.",
    "status_verified": "با تأیید شما انجام و بسته شده است.",
    "status_reopened": "برای پیگیری دوباره، به واحد مسئول بازگردانده شده است.",
    "status_disputed": "در انتظار بررسی ناظر میدانی است.",
    "status_closed_on_verdict": "پس از بازدید ناظر میدانی بسته شده است.",
    "status_cancelled": "لغو شده است.",
    "responsible_unit": "واحد مسئول",
    "last_change_on": "آخرین تغییر در تاریخ",
    "status_options": "برای شنیدن دوباره، عدد یک، و برای گفتگو با کارشناس، عدد صفر را فشار دهید.",
    "goodbye": "از تماس شما سپاسگزاریم. خدانگهدار.",
    "connecting_to_operator": "لطفاً منتظر بمانید، تماس شما به کارشناس وصل می‌شود.",
    "invalid_choice": "گزینه انتخاب شده معتبر نیست.",
    # Said by the queue itself (queues.conf periodic-announce) between the music, while a caller waits
    "queue_please_hold": "همه کارشناسان در حال گفتگو هستند. لطفاً پشت خط بمانید؛ تماس شما به نوبت پاسخ داده می‌شود.",
    # 1888
    "menu_1888": "برای انتقاد، عدد یک. برای پیشنهاد، عدد دو. و برای قدردانی، عدد سه را فشار دهید.",
    "enter_personnel_code": "اگر پیام شما درباره یکی از کارکنان شهرداری است، کد پرسنلی او را وارد کنید و "
                            "کلید مربع را فشار دهید. در غیر این صورت، فقط کلید مربع را فشار دهید.",
    "invalid_personnel_code": "کد پرسنلی باید حداکثر ده رقم باشد.",
    "anonymity_1888": "اگر می‌خواهید ناشناس بمانید، عدد یک، و در غیر این صورت، عدد دو را فشار دهید.",
    # When no operator can answer (both lines)
    "closed_now": "اکنون خارج از ساعات پاسخگویی کارشناسان است.",
    "no_operator_available": "در حال حاضر هیچ کارشناسی در دسترس نیست.",
    "long_wait": "زمان انتظار برای گفتگو با کارشناس طولانی است.",
    "option_callback": "برای درخواست تماس برگشتی، عدد یک را فشار دهید.",
    "option_message": "برای گذاشتن پیام صوتی، عدد دو را فشار دهید.",
    "option_wait": "برای ماندن در صف انتظار، عدد سه را فشار دهید.",
    "callback_registered": "درخواست تماس برگشتی شما ثبت شد. نوبت شما",
    "callback_in_turn": "است. کارشناسان به ترتیب نوبت با شما تماس می‌گیرند.",
    "record_after_beep": "پس از صدای بوق، پیام خود را بگویید و در پایان، کلید مربع را فشار دهید.",
    "message_too_short": "پیامی ضبط نشد.",
    "message_recorded": "پیام شما ثبت شد. کد رهگیری شما",
    "all_lines_busy": "در حال حاضر همه خطوط سامانه مشغول است. لطفاً چند دقیقه دیگر دوباره تماس بگیرید.",
    # The automatic verification call (callcenter/verification/dialer.py, ivr/verification_call.py)
    "verify_greeting": "سلام. از سامانه ۱۳۷ شهرداری قزوین تماس می‌گیریم، درباره درخواست شما با کد رهگیری",
    "verify_question": "واحد مسئول اعلام کرده است که کار انجام شده است. اگر مشکل برطرف شده است، عدد یک، "
                       "و اگر برطرف نشده است، عدد دو را فشار دهید.",
    "verify_thanks_resolved": "از پاسخ شما سپاسگزاریم. درخواست شما با تأیید شما بسته شد. خدانگهدار.",
    "verify_thanks_not_resolved": "پاسخ شما ثبت شد و درخواست برای پیگیری دوباره به واحد مسئول بازگردانده شد. "
                                  "خدانگهدار.",
    "verify_no_answer": "پاسخی دریافت نشد. بعداً دوباره با شما تماس می‌گیریم. خدانگهدار.",
}

# Fragments the IVR strings together where Asterisk's Say* applications have no Persian: numbers, digits,
# Jalali dates, durations (see ivr/speech.py). One short word each so that any sequence sounds even.
_ONES = ("صفر", "یک", "دو", "سه", "چهار", "پنج", "شش", "هفت", "هشت", "نُه",  # نُه: without the vowel espeak says "na"
         "ده", "یازده", "دوازده", "سیزده", "چهارده", "پانزده", "شانزده", "هفده", "هجده", "نوزده")
_TENS = ("بیست", "سی", "چهل", "پنجاه", "شصت", "هفتاد", "هشتاد", "نود")
_HUNDREDS = ("صد", "دویست", "سیصد", "چهارصد", "پانصد", "ششصد", "هفتصد", "هشتصد", "نهصد")
# Ordinals for a date's day (ivr/speech.py say_day_of_month): 21 is "بیست" "و" "یکم", so 1 … 20 and 30 suffice.
# سی‌اُم: the vowel mark, like نُه's, keeps espeak from saying "si-am".
_ORDINALS = {1: "یکم", 2: "دوم", 3: "سوم", 4: "چهارم", 5: "پنجم", 6: "ششم", 7: "هفتم", 8: "هشتم", 9: "نهم",
             10: "دهم", 11: "یازدهم", 12: "دوازدهم", 13: "سیزدهم", 14: "چهاردهم", 15: "پانزدهم", 16: "شانزدهم",
             17: "هفدهم", 18: "هجدهم", 19: "نوزدهم", 20: "بیستم", 30: "سی‌اُم"}

FRAGMENTS: dict[str, str] = {
    **{f"num_{n}": word for n, word in enumerate(_ONES)},
    **{f"num_{10 * n}": word for n, word in enumerate(_TENS, start=2)},
    **{f"num_{100 * n}": word for n, word in enumerate(_HUNDREDS, start=1)},
    "num_thousand": "هزار",
    "num_million": "میلیون",
    "word_and": "و",
    **{f"ordinal_{n}": word for n, word in _ORDINALS.items()},
    **{f"month_{n}": name for n, name in enumerate(JALALI_MONTHS, start=1)},
    "word_day": "روز",
    "word_hour": "ساعت",
    "word_minute": "دقیقه",
    "word_about": "حدود",
    # A lone comma: espeak-ng renders it as about 0.33 s of pure silence (empty text gives an empty file), so the
    # pause between tracking-code groups stays an ordinary text prompt, rendered and overridable like the rest.
    "pause_short": ",",
}

_clash = PROMPTS.keys() & FRAGMENTS.keys()
if _clash:
    raise RuntimeError(f"fragment keys also used by a sentence prompt: {sorted(_clash)}")
PROMPTS.update(FRAGMENTS)
