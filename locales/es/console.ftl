# La consola de la cuenta: resumen, actividad, contraseña, nombre. Área "console".

## Actividad: una frase por tipo de evento (src/accounts/activity.rs los enumera).

activity-signed-up = Usted creó su cuenta
activity-signup-existing-email = Alguien intentó crear una cuenta nueva con su correo electrónico
activity-email-confirmed = Usted confirmó un correo electrónico
activity-signed-in = Usted inició sesión
activity-signed-in-new-device = Usted inició sesión en un dispositivo que no conocíamos
activity-reauthenticated = Usted confirmó su identidad
activity-signin-failed = Alguien intentó iniciar sesión con una contraseña incorrecta
activity-signed-out = Usted cerró sesión
activity-mfa-code-sent = Enviamos un código al { $phone }
activity-mfa-code-wrong = Se ingresó un código incorrecto
activity-mfa-locked = Los códigos se pausaron después de demasiados intentos fallidos
activity-phone-added = Usted agregó un número de teléfono
activity-phone-changed = Usted cambió su número de teléfono
activity-phone-removed = Usted eliminó un número de teléfono
activity-phone-reviewed = Usted confirmó que su número de teléfono sigue siendo suyo
activity-totp-added = Usted agregó una aplicación de autenticación
activity-totp-removed = Usted eliminó una aplicación de autenticación
activity-key-added = Usted agregó una llave de seguridad o llave de acceso
activity-key-removed = Usted eliminó una llave de seguridad o llave de acceso
activity-key-possible-clone = Una llave de seguridad o llave de acceso dio una respuesta que sugiere que fue copiada; se rechazó
activity-backup-codes-made = Usted creó códigos de respaldo
activity-password-changed = Usted cambió su contraseña
activity-password-reset-requested = Usted pidió restablecer su contraseña
activity-password-reset = Usted restableció su contraseña
activity-profile-updated = Usted cambió su nombre
activity-email-added = Usted agregó un correo electrónico
activity-email-made-primary = Usted cambió el correo electrónico con el que inicia sesión
activity-email-removed = Usted eliminó un correo electrónico
activity-consent-granted = { $app } puede ver { $what }
activity-consent-sign-in-only = Usted permitió que { $app } inicie su sesión
activity-consent-denied = Usted no permitió que { $app } use su cuenta
activity-tokens-issued = Usted inició sesión en { $app }
activity-app-revoked = Usted desconectó { $app }
activity-app-signed-out = { $app } renunció a su acceso a su cuenta
activity-app-access-ended = Terminamos el acceso de { $app } para proteger su cuenta
activity-not-me = Usted informó actividad que no reconoció y cerramos todas sus sesiones
activity-account-reset-requested = Usted pidió restablecer su cuenta
activity-account-reset-link-sent = Le enviamos un enlace para terminar de restablecer su cuenta
activity-account-reset-completed = Usted restableció su cuenta y configuró nuevos métodos de inicio de sesión
activity-account-reset-cancelled = Se canceló el restablecimiento de su cuenta porque usted inició sesión
activity-support-ticket-created = Usted se comunicó con el servicio de asistencia
activity-support-ticket-replied = El servicio de asistencia respondió su mensaje
activity-support-ticket-closed = El servicio de asistencia cerró su solicitud
activity-support-phone-change = El servicio de asistencia comenzó a cambiar su número de teléfono
activity-account-disabled = El servicio de asistencia desactivó su cuenta
activity-account-enabled = El servicio de asistencia volvió a activar su cuenta
activity-account-unlocked = El servicio de asistencia desbloqueó su cuenta
activity-methods-reset-by-support = El servicio de asistencia eliminó sus métodos de inicio de sesión
activity-identity-verification-started = Comenzó a verificar su identidad
activity-identity-verified = Se verificó su identidad
activity-identity-held = Su verificación de identidad está en revisión
activity-identity-removed = Se eliminaron los datos de su identidad verificada
activity-identity-letter-requested = Pidió una carta para verificar su identidad por correo postal
activity-identity-letter-sent = Se envió por correo su carta de verificación de identidad
activity-referee-case-opened = Pidió verificar su identidad con un agente por video
activity-referee-code-replaced = Pidió un código nuevo para su videollamada con un agente
activity-referee-decided = Un agente decidió sobre su verificación de identidad
activity-referee-case-expired = Su videollamada con un agente venció
activity-identity-suspended = Su identidad verificada se bloqueó tras restablecer la contraseña
activity-identity-restored = Su clave personal restauró su identidad verificada
activity-personal-key-replaced = Creó una nueva clave personal
activity-other = Hubo un cambio en su cuenta
activity-unknown-app = Una aplicación
activity-sees-name = su nombre
activity-sees-email = su correo electrónico
activity-sees-phone = su número de teléfono
activity-list-last = { $first } y { $last }
activity-device = { $browser } en { $system }
activity-device-system-only = Un navegador en { $system }
activity-device-unknown = Un navegador desconocido

## Por qué no se puede usar una contraseña nueva (también al crear la cuenta y al restablecerla).

password-refusal-too-short = Su contraseña debe tener al menos { $count } caracteres.
password-refusal-too-long = Su contraseña puede tener como máximo { $count } caracteres.
password-refusal-too-easy = Esta contraseña es demasiado fácil de adivinar.
password-refusal-try-a-phrase = Pruebe con una frase más larga de varias palabras sin relación entre sí.
password-refusal-warning-key-rows = Las filas seguidas de teclas son fáciles de adivinar.
password-refusal-warning-keyboard-patterns = Los patrones cortos del teclado son fáciles de adivinar.
password-refusal-warning-repeats = Las repeticiones como "aaa" son fáciles de adivinar.
password-refusal-warning-repeated-groups = Las repeticiones como "abcabcabc" son apenas más difíciles de adivinar que "abc".
password-refusal-warning-top-10 = Es una de las 10 contraseñas más comunes.
password-refusal-warning-top-100 = Es una de las 100 contraseñas más comunes.
password-refusal-warning-common = Es una contraseña muy común.
password-refusal-warning-similar-to-common = Se parece a una contraseña muy usada.
password-refusal-warning-sequences = Las secuencias como abc o 6543 son fáciles de adivinar.
password-refusal-warning-recent-years = Los años recientes son fáciles de adivinar.
password-refusal-warning-single-word = Una sola palabra es fácil de adivinar.
password-refusal-warning-dates = Las fechas suelen ser fáciles de adivinar.
password-refusal-warning-names = Los nombres y apellidos solos son fáciles de adivinar.
password-refusal-warning-common-names = Los nombres y apellidos comunes son fáciles de adivinar.
password-refusal-suggest-few-words = Use varias palabras y evite frases comunes.
password-refusal-suggest-no-symbols-needed = No hace falta usar símbolos, números ni mayúsculas.
password-refusal-suggest-another-word = Agregue una o dos palabras más. Las palabras poco comunes son mejores.
password-refusal-suggest-capitals = Las mayúsculas no ayudan mucho.
password-refusal-suggest-all-capitals = Todo en mayúsculas es casi tan fácil de adivinar como todo en minúsculas.
password-refusal-suggest-reversed = Las palabras escritas al revés no son mucho más difíciles de adivinar.
password-refusal-suggest-substitutions = Los cambios previsibles, como "@" en lugar de "a", no ayudan mucho.
password-refusal-suggest-longer-pattern = Use un patrón de teclado más largo y con más giros.
password-refusal-suggest-avoid-repeats = Evite repetir palabras y caracteres.
password-refusal-suggest-avoid-sequences = Evite las secuencias.
password-refusal-suggest-avoid-recent-years = Evite los años recientes.
password-refusal-suggest-avoid-your-years = Evite los años relacionados con usted.
password-refusal-suggest-avoid-your-dates = Evite las fechas y los años relacionados con usted.

## Títulos de página y lo que dicen los controladores de la consola.

console-title = Su cuenta
console-activity-title = Actividad
console-not-me-title = No fui yo
console-password-title = Cambiar su contraseña
console-password-changed-title = Contraseña cambiada
console-profile-title = Su nombre
console-totp-add-title = Agregar una aplicación de autenticación
console-email-confirm-title = Confirmar el correo electrónico
console-email-sign-in-title = Inicie sesión para confirmar
console-email-confirmed-title = Correo electrónico confirmado
console-email-link-invalid-title = El enlace no es válido
console-email-too-many-title = Demasiados correos electrónicos

console-session-not-yours = Esa sesión no es suya.
console-password-far-too-long = Esa contraseña es mucho más larga que cualquiera que aceptamos.
console-password-current-wrong = Su contraseña actual no es correcta.
console-password-mismatch = Las dos contraseñas nuevas no coinciden.
console-profile-name-invalid = Los nombres pueden tener como máximo 100 caracteres, sin saltos de línea.
console-totp-too-many = { $count ->
    [one] Ya tiene una aplicación de autenticación, el máximo que puede tener una cuenta.
   *[other] Ya tiene { $count } aplicaciones de autenticación, el máximo que puede tener una cuenta.
}
console-totp-locked = Demasiados códigos incorrectos. Por su seguridad, este paso está bloqueado por un tiempo.
console-totp-code-wrong = Ese código no funcionó. Revise la aplicación e inténtelo de nuevo.
console-totp-last-method = Esta aplicación es su única forma de confirmar su identidad, así que no se puede eliminar. Primero agregue otro método.
console-totp-unknown = Esa aplicación no está en su cuenta.
console-email-not-an-address = Ingrese un correo electrónico como nombre@ejemplo.com.
console-email-not-confirmed = Solo un correo electrónico confirmado puede ser su correo principal.
console-email-not-removable = No puede eliminar ese correo electrónico (el correo principal siempre se mantiene).
console-email-too-many = Se agregaron demasiados correos electrónicos hoy. Vuelva a intentarlo mañana.

## Lo que puede hacer una aplicación conectada, una línea por permiso.

console-app-can-recognise = Puede reconocerle cuando inicia sesión
console-app-can-see-name = Puede ver su nombre
console-app-can-see-email = Puede ver su correo electrónico
console-app-can-see-phone = Puede ver su número de teléfono
console-app-can-see-verified-name = Puede ver su nombre legal, tal como se comprobó con su identificación
console-app-can-see-verified-birthdate = Puede ver su fecha de nacimiento, tal como se comprobó con su identificación
console-app-can-see-verified-address = Puede ver su dirección, tal como se verificó
console-app-can-see-verified-ssn = Puede ver su número de Seguro Social completo
console-app-can-stay-connected = Puede seguir usando esto cuando usted no está, hasta que la desconecte

activity-sessions-ended = Se cerraron sus sesiones
activity-apps-disconnected-by-support = El servicio de asistencia desconectó todas las aplicaciones de su cuenta

## La página de resumen (templates/account.html).

console-one-method-heading = Agregue una segunda forma de confirmar su identidad
console-one-method-body = Solo tiene una forma de confirmar su identidad. Si la pierde (un teléfono perdido, un número nuevo), podría quedarse sin acceso a su cuenta durante días. Agregue otra ahora:
console-add-totp = Agregar una aplicación de autenticación
console-one-method-add-totp = Configurar una aplicación de autenticación
console-one-method-add-phone = Agregar otro número de teléfono
console-make-backup-codes = Crear códigos de respaldo
console-make-new-backup-codes = Crear códigos de respaldo nuevos
console-add-phone = Agregar un número de teléfono
console-name = Nombre: { $name }
console-no-name = Todavía no indicó su nombre
console-edit-name = Editar
console-emails-heading = Correos electrónicos
console-email-primary = principal (con este inicia sesión)
console-email-waiting = pendiente de confirmación
console-email-make-primary = Hacer principal
console-email-add-label = Agregar un correo electrónico
console-add = Agregar
console-remove = Eliminar
console-change = Cambiar
console-phones-heading = Números de teléfono
console-no-phones = Todavía no tiene números de teléfono.
console-phone-by-sms = códigos por mensaje de texto
console-phone-by-voice = códigos por llamada telefónica
console-phone-default = predeterminado
console-phone-recently-changed = cambiado hace poco
console-other-methods-heading = Otras formas de confirmar su identidad
console-totp-added-on = Aplicación de autenticación · agregada el { $date }
console-backup-codes-left = { $count ->
    [one] Le queda 1 código de respaldo
   *[other] Le quedan { $count } códigos de respaldo
}
console-backup-codes-none = Todavía no tiene códigos de respaldo
console-name-password-heading = Nombre y contraseña
console-apps-heading = Aplicaciones conectadas
console-no-apps = Ninguna aplicación puede usar su cuenta.
console-app-since = conectada el { $date }
console-disconnect = Desconectar
console-sessions-heading = Dónde tiene la sesión iniciada
console-session-last-seen = última actividad: { $time }
console-session-this-browser = este navegador
console-session-sign-out = Cerrar sesión
console-sign-out-others = Cerrar todas las demás sesiones
console-recent-activity-heading = Actividad reciente
console-times-in-zone = Las horas se muestran en la zona horaria { $zone }.
console-all-activity = Toda la actividad

## Actividad (templates/activity.html, activity_table.html).

console-activity-intro = Los inicios de sesión y los cambios en su cuenta, del más reciente al más antiguo. Si ve algo que usted no hizo, elija "No fui yo": cerraremos todas sus sesiones y le enviaremos por correo electrónico un enlace para elegir una contraseña nueva.
console-activity-when = Cuándo
console-activity-what = Qué
console-activity-from = Desde
console-activity-browser = Navegador
console-activity-action = Acción
console-activity-older = Actividad anterior
console-back-to-account = Volver a su cuenta

## Formularios: el resumen de errores, cambiar la contraseña, su nombre.

console-problem-summary-heading = { $count ->
    [one] Hay un problema en este formulario
   *[other] Hay { $count } problemas en este formulario
}
console-cancel = Cancelar
console-password-changed-body = Su contraseña nueva está lista. Cerramos la sesión en todos los demás dispositivos y le enviamos un correo electrónico al respecto.
console-password-current-label = Contraseña actual
console-password-new-label = Contraseña nueva
console-password-hint = Al menos { $count } caracteres. Unas cuantas palabras sin relación entre sí forman una contraseña segura.
console-password-again-label = Escriba de nuevo la contraseña nueva
console-password-submit = Cambiar la contraseña
console-profile-saved = Guardado. Las aplicaciones a las que permitió ver su nombre lo recibirán la próxima vez que lo pidan.
console-profile-given-name = Nombre
console-profile-family-name = Apellido
console-profile-save = Guardar

console-identity-heading = Identidad verificada
console-identity-verified-on = Verificada el { $when }.
console-identity-remove = Eliminar mis datos verificados
console-identity-removed = Se eliminó su información verificada.
console-identity-in-progress = Comenzó a verificar su identidad.
console-identity-continue = Continuar donde lo dejó
console-identity-held = Su verificación está en revisión. Le enviaremos un correo cuando termine.
console-identity-vault = Su información verificada está bloqueada con su contraseña y su clave personal. Solo usted puede abrirla.
console-identity-no-personal-key = Todavía no tiene una clave personal. Cree una ahora: sin ella, restablecer la contraseña significa verificarse otra vez.
console-identity-new-personal-key = Crear una clave personal nueva
console-identity-suspended = Restableció su contraseña, así que su identidad verificada está bloqueada hasta que escriba su clave personal.
console-identity-restore = Escribir mi clave personal
console-identity-verify-again = No la tengo: verificar mi identidad otra vez
console-identity-none = Algunos servicios necesitan saber quién es usted antes de que pueda usarlos.
console-identity-redo = Su cuenta se restableció, así que debe verificar su identidad de nuevo.
console-identity-verify = Verifique su identidad
console-identity-letter-requested-on = Pidió una carta para verificar su identidad el { $when }.
console-identity-letter-sent-on = Su carta para verificar su identidad se envió el { $when }.
console-identity-letter-enter = Ingrese el código de su carta
console-identity-letter-another = Enviar otra carta
