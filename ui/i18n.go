package ui

import (
	"fmt"
	"strings"

	"golang.org/x/text/language"
)

// Every string the pages show comes from these catalogs, one per language, keyed by a short
// name. A page chooses its language from the authorization request's ui_locales, then the
// browser's Accept-Language, then English. A catalog entry is a fmt format; arguments are given
// by the template or handler that uses it. TestCatalogs checks that both catalogs have the same
// keys, that every key a template or handler names exists, and that the verbs agree.
//
// Another page adopts the catalog by adding its keys to both maps and calling {{.T "key"}} in
// its template (page.T) or u.t(r, …) in Go.

// languages are the supported languages, the default first.
var languages = []language.Tag{language.English, language.Spanish}

var langMatcher = language.NewMatcher(languages)

// Languages returns the base codes of the languages the pages are written in ("en", "es"),
// the default first: discovery's ui_locales_supported.
func Languages() []string {
	out := make([]string, len(languages))
	for i, t := range languages {
		out[i] = base(t)
	}
	return out
}

// Catalog returns a copy of the messages of lang (nil for a language the pages do not have),
// for tests that look for untranslated text on rendered pages.
func Catalog(lang string) map[string]string {
	c, ok := catalogs[lang]
	if !ok {
		return nil
	}
	out := make(map[string]string, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// catalogs maps a language's base code to its messages.
var catalogs = map[string]map[string]string{
	"en": english,
	"es": spanish,
}

// chooseLanguage returns the base code ("en", "es") of the best supported language for the
// request: ui_locales (space-separated BCP 47 tags, in order of preference) first, then the
// Accept-Language header, then English.
func chooseLanguage(uiLocales []string, acceptLanguage string) string {
	var tags []language.Tag
	for _, l := range uiLocales {
		for f := range strings.FieldsSeq(l) {
			if t, err := language.Parse(f); err == nil {
				tags = append(tags, t)
			}
		}
	}
	if _, i, c := langMatcher.Match(tags...); len(tags) > 0 && c >= language.High {
		return base(languages[i])
	}
	if accept, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil && len(accept) > 0 {
		if _, i, c := langMatcher.Match(accept...); c >= language.High {
			return base(languages[i])
		}
	}
	return "en"
}

func base(t language.Tag) string {
	b, _ := t.Base()
	return b.String()
}

// translate returns the message key of lang formatted with args; English when lang lacks it,
// and the key itself when English lacks it too (TestCatalogs keeps that from happening).
func translate(lang, key string, args ...any) string {
	msg, ok := catalogs[lang][key]
	if !ok {
		if msg, ok = english[key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

var english = map[string]string{
	"title.suffix":     "%s",
	"continue_to":      "to continue to",
	"reference":        "Reference:",
	"show_password":    "Show",
	"hide_password":    "Hide",
	"link.account":     "Go to your account",
	"link.sign_in":     "Sign in",
	"link.start_again": "Start again",

	"field.phone":            "Phone number",
	"field.phone.hint":       "Your mobile number, for example %s, or in your country's usual format.",
	"field.password":         "Password",
	"field.new_password":     "New password",
	"field.confirm_password": "Type the new password again",
	"field.current_password": "Current password",
	"field.password.hint":    "At least 8 characters. A few unrelated words make a strong password that is easy to remember.",
	"field.name":             "Full name",
	"field.code":             "6-digit code",
	"field.recovery_code":    "Recovery code",
	"field.recovery_code.hint": "One of the 10 codes you saved when you created your account, " +
		"for example 7KQ2-M9XD-4TRB-HC3W.",

	"login.title":    "Sign in",
	"login.submit":   "Continue",
	"login.forgot":   "Forgot your password?",
	"login.new":      "New here?",
	"login.create":   "Create an account",
	"login.reauth":   "For your security, sign in again to continue.",
	"notice.reset":   "Your password has been changed. Sign in with your new password.",
	"register.title": "Create your account",
	"register.sms": "We'll text a code to this number to check that it's yours. Text messages can be " +
		"intercepted, so you'll also get recovery codes to keep somewhere safe.",
	"register.submit":   "Send me a code",
	"register.have":     "Already have an account?",
	"code.title":        "Enter the code we texted you",
	"code.sent":         "We sent a 6-digit code to",
	"code.valid":        "It is valid for 5 minutes.",
	"code.submit":       "Verify",
	"code.resend":       "Send a new code",
	"code.resend_wait":  "You can ask for a new code in %v seconds.",
	"code.wrong_number": "Wrong number? Go back",
	"code.use_recovery": "Can't get the text? Use a recovery code",
	"notice.resent":     "We sent you a new code. Only the newest code works.",

	// A sign-in whose text was refused: the recovery code is the way on.
	"notice.text_not_sent": "We could not text you a code this time, so no text was sent. Use one of your recovery codes below, or wait a few minutes and ask for a new code.",
	// The right code of a registration for a number that has an account (twilio-verify).
	"err.phone_registered": "This number already has an account. Sign in with it, or reset its password if you forgot it.",

	"recovery.title":  "Use a recovery code",
	"recovery.intro":  "Enter one of the recovery codes you saved when you created your account. Each code works once.",
	"recovery.submit": "Sign in",
	"recovery.back":   "Use the code from the text message instead",

	"codes.title": "Save your recovery codes",
	"codes.intro": "If you can't get text messages (a lost phone, no signal, abroad), each of these codes " +
		"signs you in once instead of a texted code. You also need one to reset a forgotten password.",
	"codes.once":      "This is the only time we show them. Keep them somewhere safe, such as a password manager.",
	"codes.copy":      "Copy codes",
	"codes.copied":    "Codes copied.",
	"codes.download":  "Download as text",
	"codes.continue":  "I saved my codes, continue",
	"codes.file":      "%s recovery codes. Each code works once, instead of a texted code or to reset your password.",
	"codes.gone":      "Your recovery codes are no longer shown",
	"codes.gone.text": "For your security we show recovery codes only once. You can get a new set on your account page.",

	"forgot.title":    "Reset your password",
	"forgot.intro":    "Enter your phone number. If it has an account, we'll text it a code.",
	"forgot.recovery": "You'll also need one of your recovery codes.",
	"forgot.submit":   "Send me a code",
	"forgot.back":     "Back to sign in",
	"verify.title":    "Check your phone",
	"verify.sent1":    "If",
	"verify.sent2":    "has an account, we texted it a 6-digit code. It is valid for 5 minutes.",
	"verify.submit":   "Continue",
	"newpw.title":     "Choose a new password",
	"newpw.intro":     "After this you'll be signed out everywhere, and apps will ask you to sign in again.",
	"newpw.submit":    "Change password",

	"account.title":        "Your account",
	"account.hello":        "Hello, %s",
	"account.phone":        "Phone number",
	"account.signed_in":    "Signed in",
	"account.password":     "Change your password",
	"account.password.do":  "Change password",
	"account.recovery":     "Recovery codes",
	"account.recovery.n":   "You have %d of 10 recovery codes left.",
	"account.recovery.low": "You are running out of recovery codes. Get a new set.",
	"account.recovery.new": "Get new recovery codes",
	"account.recovery.why": "Getting new codes makes the old ones stop working.",
	"account.reauth":       "For your security, sign in again before getting new recovery codes.",
	"account.devices":      "Signed-in devices",
	"account.this_device":  "This device",
	"account.last_active":  "Last active %s",
	"account.device_out":   "Sign out",
	"account.apps":         "Apps with access",
	"account.no_apps":      "No apps can use your account right now.",
	"account.app_since":    "Since %s",
	"account.remove":       "Remove access",
	"account.sign_out":     "Sign out",
	"notice.password":      "Your password has been changed. Your other devices were signed out, and apps that had access will ask you to sign in again.",
	"notice.device_out":    "That device has been signed out.",
	"notice.app_removed":   "Access removed. The app will have to ask you to sign in again.",
	"account.name":         "Your name",
	"account.name.do":      "Save name",
	"notice.name":          "Your name has been saved.",
	// Dates: %%[1]s the month, %%[2]d the day, %%[3]d the year, %%[4]s the time of day (date.clock,
	// a Go time layout).
	"date.format":    "%[1]s %[2]d, %[3]d, %[4]s UTC",
	"date.clock":     "3:04 PM",
	"month.1":        "January",
	"month.2":        "February",
	"month.3":        "March",
	"month.4":        "April",
	"month.5":        "May",
	"month.6":        "June",
	"month.7":        "July",
	"month.8":        "August",
	"month.9":        "September",
	"month.10":       "October",
	"month.11":       "November",
	"month.12":       "December",
	"unknown_device": "Unknown browser",

	"signed_out.title": "You are signed out",
	"signed_out.text":  "You have signed out of %s. You can close this page.",
	"signed_out.again": "Sign in again",

	"err.generic.title":       "Something went wrong",
	"err.generic.text":        "We could not finish this step because of a problem on our side. Please try again in a minute.",
	"err.forbidden.title":     "This form has expired",
	"err.forbidden.text":      "For your security we could not accept this form. Go back, reload the page and try again.",
	"err.too_large.title":     "That was too much",
	"err.too_large.text":      "The form you sent was larger than we accept. Go back and try again.",
	"err.expired_link.title":  "This sign-in link has expired",
	"err.expired_link.text":   "Go back to the app you came from and start signing in again.",
	"err.expired_done.text":   "You are signed in, but the app's request expired. Go back to the app and start again.",
	"err.other_browser.title": "Continue in the browser you started in",
	"err.other_browser.text":  "This sign-in was started in another browser or app. Go back to the app and start again here.",
	"err.request.title":       "We can't continue with this request",
	"err.request.text": "The app that sent you here made a request we can't accept, for example with a link that " +
		"is not registered for it. Go back to the app and try again; if it keeps happening, tell the app's " +
		"developers and quote the reference below.",
	"err.not_found.title":      "Page not found",
	"err.not_found.text":       "There is nothing at this address. Check the link, or go to your account.",
	"err.unavailable.title":    "We'll be right back",
	"err.unavailable.text":     "We can't reach our records right now, so this step could not be finished. Nothing was lost: please try again in a minute.",
	"err.flow_gone.title":      "Please start again",
	"err.flow_gone.text":       "This step is no longer valid: it expired (codes work for 5 minutes and a sign-in for 15), it was already completed, or it was started in another browser. Start again from the sign-in page; nothing was changed.",
	"err.flow_done.title":      "This step is already done",
	"err.flow_done.text":       "You are signed in. This step was completed or has expired, so there is nothing more to do here.",
	"err.summary":              "Please check these fields:",
	"login.reauth_as":          "Signing in again as",
	"verify.code_kept":         "The code from the text message is right. Now enter a recovery code.",
	"err.logout_refused.title": "We can't sign you out from this link",
	"err.logout_refused.text":  "The app that sent you here made a sign-out request we can't accept. You are still signed in; you can sign out from your account page.",
	"consent.title":            "Allow access",
	"consent.heading":          "Allow %s to use your account?",
	"consent.asks":             "%s asks for:",
	"consent.allow":            "Allow",
	"consent.deny":             "Don't allow",
	"consent.remember":         "We remember your answer; you are asked again only if the app asks for more.",
	"scope.openid":             "Know who you are when you come back (an identifier, not your phone number)",
	"scope.profile":            "Your name",
	"scope.phone":              "Your phone number",
	"scope.offline_access":     "Keep access while you are not using the app",
	"logout.title":             "Sign out",
	"logout.heading":           "Sign out of %s?",
	"logout.asks_client":       "%s asks to sign you out.",
	"logout.asks_app":          "An app asks to sign you out.",
	"logout.everywhere":        "You will have to sign in again, in every app that uses your %s account.",
	"logout.confirm":           "Sign out",
	"logout.stay":              "Stay signed in",

	"err.bad_credentials":       "That phone number and password don't match an account. Check both and try again.",
	"err.bad_phone":             "Enter a valid mobile phone number, for example %s.",
	"err.bad_code":              "That code isn't right or has expired. Check the latest text we sent and try again.",
	"err.too_many_tries":        "Too many wrong codes. Ask for a new code below.",
	"err.undeliverable":         "We can't send text messages to this number. Use a mobile number that can receive SMS.",
	"err.sms_unavailable":       "We couldn't send your code right now. Please try again in a minute.",
	"err.resend_wait":           "Please wait %d seconds before asking for a new code.",
	"limit.login":               "Too many sign-in attempts failed lately. Please try again in %s.",
	"limit.sms_phone":           "We have sent as many codes to this number as we can for now. Please try again in %s.",
	"limit.sms_budget":          "We can't send new codes for registrations right now. Please try again in %s. If you already have an account, you can still sign in.",
	"limit.sms":                 "Too many codes were asked for lately. Please try again in %s.",
	"limit.sms_paused":          "We can't send text messages right now. Please try again later.",
	"limit.sms_factor_disabled": "Sign-in by text message is blocked for this account after too many wrong codes. Use a recovery code or contact support to unblock it.",
	"limit.sms_country":         "We can't send text messages to numbers in this country. Use a mobile number from a country we serve.",
	"limit.sms_country_list":    "We can't send text messages to numbers in this country. We serve mobile numbers from: %s.",
	"limit.recovery":            "Too many wrong recovery codes were tried for this account. Please try again in %s.",
	"wait.one_second":           "1 second",
	"wait.seconds":              "%d seconds",
	"wait.one_minute":           "1 minute",
	"wait.minutes":              "%d minutes",
	"wait.one_hour":             "1 hour",
	"wait.hours":                "%d hours",
	"err.bad_recovery":          "That recovery code isn't right or was already used. Check it and try again.",
	"err.reset_codes":           "Those codes aren't right. Check the latest text we sent and your recovery code, then try again.",
	"err.field":                 "This value cannot be used.",
	"err.name.required":         "Enter your full name.",
	"err.name.too_long":         "Your name can have at most %d characters.",
	"err.name.bad_chars":        "Your name contains characters that cannot be used.",
	"err.password.required":     "Enter a password.",
	"err.password.too_short": "Use at least %d characters for your password. A few unrelated words make a long " +
		"password that is easy to remember.",
	"err.password.too_long":        "Your password can have at most %d characters.",
	"err.password.bad_chars":       "Your password contains characters that cannot be used.",
	"err.password.is_product_name": "Your password cannot be the name of this service: it is the first thing an attacker tries.",
	"err.password.is_name":         "Your password cannot be your name: it is easy to guess.",
	"err.password.is_phone":        "Your password cannot contain your phone number: it is easy to guess.",
	"err.password.throttled":       "Too many wrong passwords. Wait a few minutes, then try again.",
	"err.password.common":          "This password is one of the most common ones, which attackers try first. Choose a less common one, for example a few unrelated words.",
	"err.password.mismatch":        "The two passwords are different. Type the same new password twice.",
	"err.password.wrong_current":   "That is not your current password.",
	"device.title":                 "Connect a device",
	"device.intro":                 "Type the code your TV or command-line tool shows.",
	"device.field":                 "Code",
	"device.submit":                "Continue",
	"device.bad_code":              "That code is not valid or has expired. Check it on your device.",
	"device.confirm":               "%s on your device, showing the code %s, asks to use your account.",
	"device.only_yours":            "Allow only if you started this on your own device and it shows this code.",
	"device.approved.title":        "Device connected",
	"device.approved.text":         "You can go back to your device now.",
	"device.denied.title":          "Device not connected",
	"device.denied.text":           "The device was not given access. You can close this page.",
	"device.expired.title":         "This code has expired",
	"device.expired.text":          "Start again on your device to get a new code.",
	"limit.device":                 "Too many wrong codes lately. Please try again in %s.",
}

var spanish = map[string]string{
	"title.suffix":     "%s",
	"continue_to":      "para continuar a",
	"reference":        "Referencia:",
	"show_password":    "Mostrar",
	"hide_password":    "Ocultar",
	"link.account":     "Ir a tu cuenta",
	"link.sign_in":     "Iniciar sesión",
	"link.start_again": "Empezar de nuevo",

	"field.phone":            "Número de teléfono",
	"field.phone.hint":       "Tu número de móvil, por ejemplo %s, o en el formato habitual de tu país.",
	"field.password":         "Contraseña",
	"field.new_password":     "Contraseña nueva",
	"field.confirm_password": "Escribe de nuevo la contraseña nueva",
	"field.current_password": "Contraseña actual",
	"field.password.hint":    "Al menos 8 caracteres. Varias palabras sin relación forman una contraseña segura y fácil de recordar.",
	"field.name":             "Nombre completo",
	"field.code":             "Código de 6 dígitos",
	"field.recovery_code":    "Código de recuperación",
	"field.recovery_code.hint": "Uno de los 10 códigos que guardaste al crear tu cuenta, " +
		"por ejemplo 7KQ2-M9XD-4TRB-HC3W.",

	"login.title":    "Iniciar sesión",
	"login.submit":   "Continuar",
	"login.forgot":   "¿Olvidaste tu contraseña?",
	"login.new":      "¿Eres nuevo?",
	"login.create":   "Crear una cuenta",
	"login.reauth":   "Por tu seguridad, vuelve a iniciar sesión para continuar.",
	"notice.reset":   "Tu contraseña ha cambiado. Inicia sesión con la contraseña nueva.",
	"register.title": "Crea tu cuenta",
	"register.sms": "Te enviaremos un código por SMS para comprobar que el número es tuyo. Los SMS se pueden " +
		"interceptar, así que también recibirás códigos de recuperación para guardar en un lugar seguro.",
	"register.submit":   "Enviarme un código",
	"register.have":     "¿Ya tienes una cuenta?",
	"code.title":        "Escribe el código que te enviamos",
	"code.sent":         "Enviamos un código de 6 dígitos al",
	"code.valid":        "Es válido durante 5 minutos.",
	"code.submit":       "Verificar",
	"code.resend":       "Enviar un código nuevo",
	"code.resend_wait":  "Podrás pedir un código nuevo dentro de %v segundos.",
	"code.wrong_number": "¿Número equivocado? Volver",
	"code.use_recovery": "¿No te llega el SMS? Usa un código de recuperación",
	"notice.resent":     "Te enviamos un código nuevo. Solo funciona el más reciente.",

	// A sign-in whose text was refused: the recovery code is the way on.
	"notice.text_not_sent": "Esta vez no pudimos enviarte un código, así que no se envió ningún SMS. Usa uno de tus códigos de recuperación, o espera unos minutos y pide un código nuevo.",
	// The right code of a registration for a number that has an account (twilio-verify).
	"err.phone_registered": "Este número ya tiene una cuenta. Inicia sesión con él o restablece su contraseña si la olvidaste.",

	"recovery.title":  "Usa un código de recuperación",
	"recovery.intro":  "Escribe uno de los códigos de recuperación que guardaste al crear tu cuenta. Cada código funciona una vez.",
	"recovery.submit": "Iniciar sesión",
	"recovery.back":   "Usar el código del SMS",

	"codes.title": "Guarda tus códigos de recuperación",
	"codes.intro": "Si no puedes recibir SMS (teléfono perdido, sin cobertura, en el extranjero), cada uno de " +
		"estos códigos te permite iniciar sesión una vez en lugar del código por SMS. También necesitarás uno " +
		"para restablecer una contraseña olvidada.",
	"codes.once":      "Es la única vez que los mostramos. Guárdalos en un lugar seguro, como un gestor de contraseñas.",
	"codes.copy":      "Copiar códigos",
	"codes.copied":    "Códigos copiados.",
	"codes.download":  "Descargar como texto",
	"codes.continue":  "Ya guardé mis códigos, continuar",
	"codes.file":      "Códigos de recuperación de %s. Cada código funciona una vez, en lugar de un código por SMS o para restablecer tu contraseña.",
	"codes.gone":      "Tus códigos de recuperación ya no se muestran",
	"codes.gone.text": "Por tu seguridad, los códigos de recuperación se muestran una sola vez. Puedes obtener otros en la página de tu cuenta.",

	"forgot.title":    "Restablece tu contraseña",
	"forgot.intro":    "Escribe tu número de teléfono. Si tiene una cuenta, le enviaremos un código por SMS.",
	"forgot.recovery": "También necesitarás uno de tus códigos de recuperación.",
	"forgot.submit":   "Enviarme un código",
	"forgot.back":     "Volver a iniciar sesión",
	"verify.title":    "Revisa tu teléfono",
	"verify.sent1":    "Si el",
	"verify.sent2":    "tiene una cuenta, le enviamos un código de 6 dígitos. Es válido durante 5 minutos.",
	"verify.submit":   "Continuar",
	"newpw.title":     "Elige una contraseña nueva",
	"newpw.intro":     "Después se cerrará tu sesión en todas partes y las aplicaciones te pedirán que vuelvas a iniciarla.",
	"newpw.submit":    "Cambiar la contraseña",

	"account.title":        "Tu cuenta",
	"account.hello":        "Hola, %s",
	"account.phone":        "Número de teléfono",
	"account.signed_in":    "Sesión iniciada",
	"account.password":     "Cambia tu contraseña",
	"account.password.do":  "Cambiar la contraseña",
	"account.recovery":     "Códigos de recuperación",
	"account.recovery.n":   "Te quedan %d de 10 códigos de recuperación.",
	"account.recovery.low": "Te quedan pocos códigos de recuperación. Obtén otros.",
	"account.recovery.new": "Obtener códigos de recuperación nuevos",
	"account.recovery.why": "Al obtener códigos nuevos, los anteriores dejan de funcionar.",
	"account.reauth":       "Por tu seguridad, vuelve a iniciar sesión antes de obtener códigos de recuperación nuevos.",
	"account.devices":      "Dispositivos con sesión iniciada",
	"account.this_device":  "Este dispositivo",
	"account.last_active":  "Última actividad: %s",
	"account.device_out":   "Cerrar sesión",
	"account.apps":         "Aplicaciones con acceso",
	"account.no_apps":      "Ninguna aplicación puede usar tu cuenta ahora.",
	"account.app_since":    "Desde %s",
	"account.remove":       "Quitar el acceso",
	"account.sign_out":     "Cerrar sesión",
	"notice.password":      "Tu contraseña ha cambiado. Se cerró la sesión en tus otros dispositivos, y las aplicaciones que tenían acceso te pedirán que vuelvas a iniciarla.",
	"notice.device_out":    "Se cerró la sesión en ese dispositivo.",
	"notice.app_removed":   "Acceso quitado. La aplicación tendrá que pedirte que inicies sesión de nuevo.",
	"account.name":         "Tu nombre",
	"account.name.do":      "Guardar el nombre",
	"notice.name":          "Guardamos tu nombre.",
	// Dates: %%[1]s the month, %%[2]d the day, %%[3]d the year, %%[4]s the time of day (date.clock,
	// a Go time layout).
	"date.format":    "%[2]d de %[1]s de %[3]d, %[4]s UTC",
	"date.clock":     "15:04",
	"month.1":        "enero",
	"month.2":        "febrero",
	"month.3":        "marzo",
	"month.4":        "abril",
	"month.5":        "mayo",
	"month.6":        "junio",
	"month.7":        "julio",
	"month.8":        "agosto",
	"month.9":        "septiembre",
	"month.10":       "octubre",
	"month.11":       "noviembre",
	"month.12":       "diciembre",
	"unknown_device": "Navegador desconocido",

	"signed_out.title": "Has cerrado la sesión",
	"signed_out.text":  "Has cerrado la sesión de %s. Puedes cerrar esta página.",
	"signed_out.again": "Volver a iniciar sesión",

	"err.generic.title":       "Algo salió mal",
	"err.generic.text":        "No pudimos terminar este paso por un problema nuestro. Inténtalo de nuevo en un minuto.",
	"err.forbidden.title":     "Este formulario ha caducado",
	"err.forbidden.text":      "Por tu seguridad no pudimos aceptar este formulario. Vuelve atrás, recarga la página e inténtalo de nuevo.",
	"err.too_large.title":     "Demasiados datos",
	"err.too_large.text":      "El formulario que enviaste es más grande de lo que aceptamos. Vuelve atrás e inténtalo de nuevo.",
	"err.expired_link.title":  "Este enlace de inicio de sesión ha caducado",
	"err.expired_link.text":   "Vuelve a la aplicación de la que vienes y empieza a iniciar sesión de nuevo.",
	"err.expired_done.text":   "Has iniciado sesión, pero la solicitud de la aplicación caducó. Vuelve a la aplicación y empieza de nuevo.",
	"err.other_browser.title": "Continúa en el navegador en el que empezaste",
	"err.other_browser.text":  "Este inicio de sesión empezó en otro navegador o aplicación. Vuelve a la aplicación y empieza de nuevo aquí.",
	"err.request.title":       "No podemos continuar con esta solicitud",
	"err.request.text": "La aplicación que te envió aquí hizo una solicitud que no podemos aceptar, por ejemplo con " +
		"un enlace que no tiene registrado. Vuelve a la aplicación e inténtalo de nuevo; si sigue pasando, " +
		"avisa a sus desarrolladores y cita la referencia de abajo.",
	"err.not_found.title":      "Página no encontrada",
	"err.not_found.text":       "No hay nada en esta dirección. Revisa el enlace o ve a tu cuenta.",
	"err.unavailable.title":    "Volvemos enseguida",
	"err.unavailable.text":     "Ahora mismo no podemos consultar nuestros registros, así que este paso no se pudo terminar. No se ha perdido nada: inténtalo de nuevo en un minuto.",
	"err.flow_gone.title":      "Empieza de nuevo",
	"err.flow_gone.text":       "Este paso ya no es válido: caducó (los códigos duran 5 minutos y un inicio de sesión 15), ya se completó o se empezó en otro navegador. Empieza de nuevo desde la página de inicio de sesión; no se cambió nada.",
	"err.flow_done.title":      "Este paso ya está hecho",
	"err.flow_done.text":       "Has iniciado sesión. Este paso se completó o caducó, así que no queda nada por hacer aquí.",
	"err.summary":              "Revisa estos campos:",
	"login.reauth_as":          "Vuelves a iniciar sesión como",
	"verify.code_kept":         "El código del SMS es correcto. Ahora escribe un código de recuperación.",
	"err.logout_refused.title": "No podemos cerrar tu sesión desde este enlace",
	"err.logout_refused.text":  "La aplicación que te envió aquí hizo una solicitud de cierre de sesión que no podemos aceptar. Tu sesión sigue abierta; puedes cerrarla desde la página de tu cuenta.",
	"consent.title":            "Permitir acceso",
	"consent.heading":          "¿Permitir que %s use tu cuenta?",
	"consent.asks":             "%s pide:",
	"consent.allow":            "Permitir",
	"consent.deny":             "No permitir",
	"consent.remember":         "Recordamos tu respuesta; solo te lo volveremos a preguntar si la aplicación pide más.",
	"scope.openid":             "Saber quién eres cuando vuelvas (un identificador, no tu número de teléfono)",
	"scope.profile":            "Tu nombre",
	"scope.phone":              "Tu número de teléfono",
	"scope.offline_access":     "Mantener el acceso mientras no usas la aplicación",
	"logout.title":             "Cerrar sesión",
	"logout.heading":           "¿Cerrar sesión en %s?",
	"logout.asks_client":       "%s pide cerrar tu sesión.",
	"logout.asks_app":          "Una aplicación pide cerrar tu sesión.",
	"logout.everywhere":        "Tendrás que volver a iniciar sesión en todas las aplicaciones que usan tu cuenta de %s.",
	"logout.confirm":           "Cerrar sesión",
	"logout.stay":              "Mantener la sesión abierta",

	"err.bad_credentials":       "Ese número de teléfono y esa contraseña no coinciden con ninguna cuenta. Revisa ambos e inténtalo de nuevo.",
	"err.bad_phone":             "Escribe un número de móvil válido, por ejemplo %s.",
	"err.bad_code":              "Ese código no es correcto o ha caducado. Revisa el último SMS que te enviamos e inténtalo de nuevo.",
	"err.too_many_tries":        "Demasiados códigos incorrectos. Pide un código nuevo abajo.",
	"err.undeliverable":         "No podemos enviar SMS a este número. Usa un número de móvil que pueda recibir SMS.",
	"err.sms_unavailable":       "No pudimos enviar tu código ahora. Inténtalo de nuevo en un minuto.",
	"err.resend_wait":           "Espera %d segundos antes de pedir un código nuevo.",
	"limit.login":               "Han fallado demasiados intentos de inicio de sesión. Inténtalo de nuevo en %s.",
	"limit.sms_phone":           "Ya enviamos a este número todos los códigos que podemos por ahora. Inténtalo de nuevo en %s.",
	"limit.sms_budget":          "Ahora no podemos enviar códigos para crear cuentas. Inténtalo de nuevo en %s. Si ya tienes una cuenta, puedes iniciar sesión.",
	"limit.sms":                 "Se han pedido demasiados códigos. Inténtalo de nuevo en %s.",
	"limit.sms_paused":          "Ahora no podemos enviar mensajes de texto. Inténtalo de nuevo más tarde.",
	"limit.sms_factor_disabled": "El inicio de sesión por mensaje de texto está bloqueado en esta cuenta tras demasiados códigos incorrectos. Usa un código de recuperación o contacta con soporte para desbloquearlo.",
	"limit.sms_country":         "No podemos enviar mensajes de texto a números de este país. Usa un número móvil de un país donde damos servicio.",
	"limit.sms_country_list":    "No podemos enviar mensajes de texto a números de este país. Damos servicio a números móviles de: %s.",
	"limit.recovery":            "Se han probado demasiados códigos de recuperación incorrectos en esta cuenta. Inténtalo de nuevo en %s.",
	"wait.one_second":           "1 segundo",
	"wait.seconds":              "%d segundos",
	"wait.one_minute":           "1 minuto",
	"wait.minutes":              "%d minutos",
	"wait.one_hour":             "1 hora",
	"wait.hours":                "%d horas",
	"err.bad_recovery":          "Ese código de recuperación no es correcto o ya se usó. Revísalo e inténtalo de nuevo.",
	"err.reset_codes":           "Esos códigos no son correctos. Revisa el último SMS que te enviamos y tu código de recuperación, e inténtalo de nuevo.",
	"err.field":                 "Este valor no se puede usar.",
	"err.name.required":         "Escribe tu nombre completo.",
	"err.name.too_long":         "Tu nombre puede tener como máximo %d caracteres.",
	"err.name.bad_chars":        "Tu nombre contiene caracteres que no se pueden usar.",
	"err.password.required":     "Escribe una contraseña.",
	"err.password.too_short": "Usa al menos %d caracteres en tu contraseña. Varias palabras sin relación forman " +
		"una contraseña larga y fácil de recordar.",
	"err.password.too_long":        "Tu contraseña puede tener como máximo %d caracteres.",
	"err.password.bad_chars":       "Tu contraseña contiene caracteres que no se pueden usar.",
	"err.password.is_product_name": "Tu contraseña no puede ser el nombre de este servicio: es lo primero que prueba un atacante.",
	"err.password.is_name":         "Tu contraseña no puede ser tu nombre: es fácil de adivinar.",
	"err.password.is_phone":        "Tu contraseña no puede contener tu número de teléfono: es fácil de adivinar.",
	"err.password.throttled":       "Demasiadas contraseñas incorrectas. Espera unos minutos y vuelve a intentarlo.",
	"err.password.common":          "Esta contraseña es de las más comunes, las que los atacantes prueban primero. Elige una menos común, por ejemplo varias palabras sin relación.",
	"err.password.mismatch":        "Las dos contraseñas son distintas. Escribe la misma contraseña nueva dos veces.",
	"err.password.wrong_current":   "Esa no es tu contraseña actual.",
	"device.title":                 "Conectar un dispositivo",
	"device.intro":                 "Escribe el código que muestra tu televisor o herramienta de línea de comandos.",
	"device.field":                 "Código",
	"device.submit":                "Continuar",
	"device.bad_code":              "Ese código no es válido o ha caducado. Compruébalo en tu dispositivo.",
	"device.confirm":               "%s en tu dispositivo, que muestra el código %s, pide usar tu cuenta.",
	"device.only_yours":            "Permítelo solo si lo iniciaste tú en tu propio dispositivo y muestra este código.",
	"device.approved.title":        "Dispositivo conectado",
	"device.approved.text":         "Ya puedes volver a tu dispositivo.",
	"device.denied.title":          "Dispositivo no conectado",
	"device.denied.text":           "El dispositivo no ha recibido acceso. Puedes cerrar esta página.",
	"device.expired.title":         "Este código ha caducado",
	"device.expired.text":          "Empieza de nuevo en tu dispositivo para obtener un código nuevo.",
	"limit.device":                 "Demasiados códigos incorrectos últimamente. Inténtalo de nuevo en %s.",
}
