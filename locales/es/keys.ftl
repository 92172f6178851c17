## Llaves de seguridad y llaves de acceso (WebAuthn)

webauthn-cancelled = La solicitud se canceló o se agotó el tiempo. Vuelva a intentarlo cuando esté listo.
webauthn-failed = Algo salió mal con su llave de seguridad o llave de acceso. Vuelva a intentarlo.
webauthn-unsupported = Este navegador no puede usar llaves de seguridad ni llaves de acceso. Elija otra manera de confirmar su identidad o use otro navegador.
webauthn-needs-script = Las llaves de seguridad y las llaves de acceso necesitan que JavaScript esté activado en su navegador. Puede usar otra manera de confirmar su identidad.
webauthn-unavailable = Las llaves de seguridad y las llaves de acceso no están disponibles en este sitio.
webauthn-sign-in-expired = Su inicio de sesión venció. Vuelva a empezar.
webauthn-expired = Tardó demasiado o la respuesta ya se usó. Vuelva a intentarlo.
webauthn-refused = No pudimos comprobar esa llave de seguridad o llave de acceso. Asegúrese de que sea una que agregó a esta cuenta y vuelva a intentarlo.
webauthn-possible-clone = Rechazamos esta llave de seguridad o llave de acceso: su respuesta sugiere que pudo haber sido copiada. Le enviamos un correo electrónico al respecto. Use otra manera de confirmar su identidad.
webauthn-too-many = Se iniciaron demasiados inicios de sesión con llave de acceso desde su red. Vuelva a intentarlo en { $minutes ->
    [one] un minuto
   *[other] { $minutes } minutos
}, o inicie sesión con su correo electrónico y contraseña.
webauthn-unknown-key = Esta llave de acceso ya no está en ninguna cuenta. Inicie sesión con su correo electrónico y contraseña.

mfa-other-key = Usar una llave de seguridad o llave de acceso
mfa-key-instructions = Cuando su navegador lo pida, inserte o toque su llave de seguridad, o use su cara, su huella digital o el bloqueo de pantalla.
mfa-key-button = Usar mi llave de seguridad o llave de acceso
mfa-no-key = Esta cuenta no tiene llaves de seguridad ni llaves de acceso.
mfa-key-required = El servicio al que está entrando pide una llave de seguridad o llave de acceso. No se puede usar un código en su lugar.
mfa-key-required-explained = El servicio al que está entrando pide una llave de seguridad o llave de acceso, y su cuenta todavía no tiene una. Inicie sesión en su cuenta como de costumbre, agregue una llave de seguridad o llave de acceso en "Llaves de seguridad y llaves de acceso" y luego vuelva al servicio.
mfa-key-required-add = Ir a su cuenta
mfa-setup-passkey = Llave de acceso (cara, huella digital o bloqueo de pantalla)
mfa-setup-passkey-hint = La manera más segura: no se puede robar con engaños y puede iniciar sesión con ella sin su contraseña.
mfa-setup-security-key = Llave de seguridad
mfa-setup-security-key-hint = Una llave USB o NFC que se inserta o se toca. No se puede robar con engaños.

login-passkey-or = O
login-passkey-button = Iniciar sesión con una llave de acceso
login-passkey-hint = Use su cara, su huella digital o el bloqueo de pantalla, o una llave de seguridad que tenga una llave de acceso para este sitio.

key-add-title-passkey = Agregar una llave de acceso
key-add-title-security-key = Agregar una llave de seguridad
key-add-intro-passkey = Una llave de acceso se guarda en su teléfono, computadora o administrador de contraseñas y se desbloquea con su cara, su huella digital o el bloqueo de pantalla. Solo funciona en este sitio, así que no se puede robar con engaños, y le permite iniciar sesión sin su contraseña.
key-add-intro-security-key = Una llave de seguridad es un pequeño dispositivo USB o NFC. La insertará o la tocará al iniciar sesión. Solo funciona en este sitio, así que no se puede robar con engaños.
key-add-name-label = Nombre
key-add-name-hint-passkey = Para distinguir sus llaves de acceso, por ejemplo "Computadora del trabajo".
key-add-name-hint-security-key = Para distinguir sus llaves, por ejemplo "Llave azul".
key-add-button-passkey = Crear una llave de acceso
key-add-button-security-key = Agregar mi llave de seguridad
key-add-refused = No se pudo agregar su llave de seguridad o llave de acceso. Vuelva a intentarlo; si sigue fallando, pruebe otra llave u otro navegador.
key-add-already-registered = Esa llave de seguridad o llave de acceso ya está en una cuenta.
key-add-model-not-allowed = Este sitio solo acepta ciertos modelos de llave de seguridad, y este no es uno de ellos.
key-default-name-passkey = Llave de acceso
key-default-name-security-key = Llave de seguridad

console-keys-heading = Llaves de seguridad y llaves de acceso
console-keys-intro = No se pueden robar con engaños. Una llave de acceso también le permite iniciar sesión sin su contraseña.
console-keys-none = No ha agregado ninguna.
console-key-kind-passkey = Llave de acceso
console-key-kind-security-key = Llave de seguridad
console-key-added-on = Agregada el { $date }
console-key-last-used-on = Usada por última vez el { $date }
console-key-never-used = Todavía no se ha usado
console-key-rename = Cambiar nombre
console-add-passkey = Agregar una llave de acceso
console-add-security-key = Agregar una llave de seguridad
console-key-too-many = Puede tener como máximo { $count } llaves de seguridad y llaves de acceso. Quite una para agregar otra.
console-key-last-method = No puede quitar su única manera de confirmar su identidad. Agregue otra manera primero.
console-key-unknown = Esa llave de seguridad o llave de acceso no está en su cuenta.
