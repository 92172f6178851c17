# Crear una cuenta, iniciar sesión, páginas de bloqueo, reglas de contraseñas, restablecer la
# contraseña, restablecer la cuenta, la página de inicio, las condiciones, la verificación de
# identidad, "No fui yo" y la bandeja de salida de desarrollo.

## Compartido por las páginas de este archivo

auth-step = Paso
auth-step-of = de { $count }
auth-step-completed = completado
auth-step-not-completed = no completado
auth-steps-label = Progreso
auth-errors-heading = { $count ->
    [one] Hay 1 problema que corregir
   *[other] Hay { $count } problemas que corregir
    }
auth-cancel = Cancelar
auth-back = Volver
auth-back-to-sign-in = Volver a iniciar sesión
auth-email-label = Correo electrónico
auth-password-label = Contraseña

## Página de inicio y condiciones

home-title = Su cuenta
home-heading = Su cuenta
home-signed-in-as = Inició sesión como { $email }.
home-session-note = Mientras dure esta sesión, las aplicaciones que usan { $site } le permitirán entrar sin volver a pedirle la contraseña.
home-manage = Administrar su cuenta
home-backup-codes-low = { $count ->
    [one] Le queda 1 código de respaldo.
   *[other] Le quedan { $count } códigos de respaldo.
    } Genere un nuevo juego antes de que se le acaben; los códigos anteriores dejarán de funcionar.
home-make-backup-codes = Generar nuevos códigos de respaldo
home-welcome-title = Bienvenido
home-welcome-heading = Le damos la bienvenida a { $site }
home-welcome-body = Una cuenta segura para los servicios gubernamentales y financieros que usted usa.
home-sign-in = Iniciar sesión
home-create-account = Crear una cuenta

terms-title = Condiciones del servicio
terms-intro = { $site } verifica su identidad para los servicios que usted elige usar. Al crear una cuenta, usted se compromete a:
terms-true-information = dar información verdadera sobre usted;
terms-keep-secrets = no compartir con nadie su contraseña ni sus segundos factores;
terms-report-misuse = avisarnos de inmediato si cree que otra persona usó su cuenta.
terms-sharing = Solo compartimos información con un servicio después de que usted lo autorice, y solo la que ese servicio pidió. Guardamos un registro de los eventos de seguridad de su cuenta, que usted puede consultar.
terms-operator-note = El operador de esta instancia de { $site } reemplaza esta página con sus propias condiciones.

## Crear una cuenta: correo electrónico, revisar el correo, elegir una contraseña, segundo factor

signup-step-email = Correo electrónico
signup-step-check-email = Revise su correo
signup-step-password = Elija una contraseña
signup-step-second-factor = Configure un segundo factor

signup-title = Crear una cuenta
signup-intro = Le enviaremos un enlace a su correo electrónico. Ábralo para confirmar la dirección y elegir su contraseña.
signup-terms-label = Acepto las condiciones del servicio
signup-terms-read = Leer las condiciones del servicio
signup-submit = Crear cuenta
signup-have-account = ¿Ya tiene una cuenta?
signup-sign-in = Iniciar sesión
signup-email-invalid = Escriba una dirección de correo electrónico como nombre@ejemplo.com.
signup-terms-required = Para crear una cuenta, debe aceptar las condiciones del servicio.
signup-too-many = Se crearon demasiadas cuentas desde su red en la última hora. Inténtelo de nuevo más tarde.

check-email-title = Revise su correo
check-email-sent = Enviamos un mensaje a { $email }. Abra el enlace que contiene para confirmar su dirección y elegir su contraseña.
check-email-once = El enlace funciona una sola vez. Si no ve el mensaje en unos minutos, revise su carpeta de correo no deseado.
check-email-wrong-address = ¿La dirección es incorrecta?
check-email-use-another = Usar otra dirección de correo electrónico

choose-password-title = Elija su contraseña
choose-password-intro = Su dirección de correo electrónico es { $email }. Elija la contraseña con la que iniciará sesión para terminar de crear su cuenta.
choose-password-hint = Entre { $min } y { $max } caracteres. Unas cuantas palabras sin relación entre sí forman una contraseña segura y fácil de recordar. No se necesitan caracteres especiales.
choose-password-again-label = Vuelva a escribir la contraseña
choose-password-submit = Crear cuenta

confirm-email-title = Correo electrónico confirmado
confirm-email-body = Gracias. Su dirección de correo electrónico está confirmada y su contraseña quedó guardada.
confirm-email-next = Ahora inicie sesión y configure una segunda forma de confirmar su identidad, como su teléfono o una aplicación de autenticación.
confirm-email-continue = Continuar para iniciar sesión
confirm-email-invalid-title = Este enlace no es válido
confirm-email-invalid-body = El enlace de confirmación ya se usó, venció o se copió incompleto.
confirm-email-invalid-again = Si su correo electrónico todavía no está confirmado, vuelva a crear la cuenta y le enviaremos un enlace nuevo.
confirm-email-sign-up-again = Volver a crear la cuenta

## Una dirección agregada desde la consola: la página de su enlace

confirm-added-email-heading = ¿Confirmar esta dirección de correo electrónico?
confirm-added-email-body = Agregue { $email } a su cuenta como dirección confirmada. Podrá iniciar sesión con ella si la convierte en su dirección principal.
confirm-added-email-confirm = Confirmar { $email }
confirm-added-email-not-now = Ahora no
confirm-added-email-not-yours = Si usted no agregó esta dirección, no la confirme.
confirm-added-email-review = Revisar su cuenta
confirm-added-email-sign-in-heading = Inicie sesión para confirmar esta dirección
confirm-added-email-sign-in-body = Solo la cuenta que agregó { $email } puede confirmarla. Inicie sesión con esa cuenta en este navegador y vuelva a abrir el enlace del correo electrónico.
confirm-added-email-ignore = Si usted no agregó esta dirección a ninguna cuenta, ignore el correo: no cambiará nada a menos que se confirme.
confirm-added-email-sign-in = Iniciar sesión
confirm-added-email-confirmed-heading = Correo electrónico confirmado
confirm-added-email-confirmed-body = La dirección { $email } ya está confirmada en su cuenta.
confirm-added-email-back = Volver a su cuenta
confirm-added-email-invalid-heading = Este enlace no es válido
confirm-added-email-invalid-body = El enlace de confirmación ya se usó, venció o se copió incompleto.
confirm-added-email-invalid-again = Para recibir uno nuevo, vuelva a agregar la dirección en la página de su cuenta.
confirm-added-email-account-page = Ir a la página de su cuenta

## Iniciar sesión

login-title = Iniciar sesión
interrupted-title = Se interrumpió su inicio de sesión
interrupted-body = Su inicio de sesión en { $client } se interrumpió o tardó demasiado, así que tiene que empezar de nuevo. No se cambió nada.
interrupted-continue = Empezar de nuevo y continuar a { $client }
interrupted-account = Ir a su cuenta
login-interrupted = Su inicio de sesión se interrumpió o tardó demasiado, así que tiene que empezar de nuevo. No se cambió nada. Si estaba iniciando sesión en una aplicación o sitio web, regrese allí y empiece de nuevo.
login-to-continue = para continuar a { $client }
login-submit = Iniciar sesión
login-forgot = ¿Olvidó su contraseña?
login-new-here = ¿Es nuevo aquí?
login-create-account = Crear una cuenta
login-wrong = Ese correo electrónico y esa contraseña no coinciden con ninguna cuenta. Revíselos e inténtelo de nuevo.
login-confirm-first = Primero confirme su dirección de correo electrónico. Le enviamos un nuevo enlace de confirmación; ábralo y luego inicie sesión.
login-disabled = Esta cuenta fue desactivada. Comuníquese con soporte si cree que se trata de un error.

## Páginas de bloqueo. Cada una dice lo mismo que el correo sobre ella, y cómo salir.

lock-what-you-can-do = Qué puede hacer
lock-reset-password = Restablecer su contraseña
lock-contact-support = Comunicarse con soporte
lock-support-phone = O llame a soporte al { $phone }.
lock-help = Lea qué hacer si no puede entrar a su cuenta
lock-tries-title = Demasiados intentos
lock-tries-body = Hubo varias contraseñas incorrectas para esta cuenta desde su red. Por su seguridad, espere { $count ->
    [one] 1 minuto
   *[other] { $count } minutos
    } antes de volver a intentarlo.
lock-tries-reset = ¿Olvidó su contraseña? No siga adivinando: restablézcala y luego inicie sesión con la nueva.
lock-tries-wait = O espere { $count ->
    [one] 1 minuto
   *[other] { $count } minutos
    } y vuelva a intentarlo. Cada nueva contraseña incorrecta alarga la espera.
lock-paused-title = Inicio de sesión en pausa
lock-paused-body = Hubo demasiadas contraseñas incorrectas para esta cuenta, así que el inicio de sesión quedó en pausa por { $count ->
    [one] 1 minuto
   *[other] { $count } minutos
    }. Si la cuenta existe, le enviamos un correo electrónico a su titular.
lock-paused-reset = ¿Olvidó su contraseña? Restablézcala ahora: al restablecer la contraseña termina la pausa.
lock-paused-wait = O espere { $count ->
    [one] 1 minuto
   *[other] { $count } minutos
    } e inicie sesión con la contraseña correcta.
lock-paused-not-you = Si usted no causó esto, es posible que alguien esté tratando de adivinar su contraseña: elija una nueva que no use en ningún otro lugar.
lock-locked-title = Cuenta bloqueada
lock-locked-body = Hubo demasiadas contraseñas incorrectas para esta cuenta, así que el inicio de sesión está bloqueado hasta que se restablezca la contraseña. Si la cuenta existe, le enviamos un correo electrónico a su titular.
lock-locked-reset = Restablezca su contraseña para desbloquear el inicio de sesión. Necesitará su correo electrónico y su teléfono, su aplicación de autenticación o un código de respaldo.
lock-locked-support = Si no puede restablecer su contraseña, comuníquese con soporte y le ayudaremos.
lock-mfa-title = Demasiados códigos incorrectos
lock-mfa-body = Hubo demasiados códigos de seguridad incorrectos, así que el inicio de sesión con un segundo factor quedó en pausa por { $count ->
    [one] 1 minuto
   *[other] { $count } minutos
    }. Le enviamos un correo electrónico al respecto.
lock-mfa-wait = Espere { $count ->
    [one] 1 minuto
   *[other] { $count } minutos
    } y vuelva a iniciar sesión.
lock-mfa-not-you = Si no fue usted, es posible que alguien conozca su contraseña: cámbiela en cuanto pueda iniciar sesión.
lock-mfa-support = ¿No puede esperar? Comuníquese con soporte.

## Reglas de contraseñas (crear una cuenta, restablecer; cualquier página que fije una contraseña)

password-confirmation-mismatch = Las dos contraseñas no coinciden.
password-far-too-long = Esa contraseña es mucho más larga que cualquiera que aceptamos.

## Restablecer la contraseña: correo electrónico, revisar el correo, confirmar su identidad, nueva contraseña

reset-step-email = Su correo electrónico
reset-step-check-email = Revise su correo
reset-step-confirm = Confirme su identidad
reset-step-new-password = Nueva contraseña

forgot-title = Restablecer su contraseña
forgot-intro = Escriba su dirección de correo electrónico y le enviaremos un enlace para elegir una nueva contraseña.
forgot-submit = Enviar el enlace
forgot-sent = Si { $email } pertenece a una cuenta, le enviamos un enlace para elegir una nueva contraseña.
forgot-sent-valid = { $count ->
    [one] El enlace funciona una sola vez, durante 1 minuto.
   *[other] El enlace funciona una sola vez, durante { $count } minutos.
    }
forgot-sent-second-factor = Si la cuenta tiene un segundo factor, también lo necesitará (un código enviado a su teléfono, su aplicación de autenticación o un código de respaldo).
forgot-wrong-address = ¿La dirección es incorrecta?
forgot-use-another = Usar otra dirección de correo electrónico
forgot-email-invalid = Escriba una dirección de correo electrónico como nombre@ejemplo.com.
forgot-too-many = Se pidieron demasiados restablecimientos en la última hora. Inténtelo de nuevo más tarde.
reset-link-invalid = Este enlace para restablecer la contraseña no es válido: ya se usó, venció o se copió incompleto. Pida uno nuevo desde la página para iniciar sesión.
reset-link-used = Este enlace para restablecer la contraseña ya no es válido. Pida uno nuevo desde la página para iniciar sesión.

new-password-title = Elija una nueva contraseña
new-password-label = Nueva contraseña
new-password-hint = { $count ->
    [one] Al menos 1 carácter.
   *[other] Al menos { $count } caracteres.
    } Unas cuantas palabras sin relación entre sí forman una contraseña segura.
new-password-again-label = Vuelva a escribirla
new-password-submit = Guardar la nueva contraseña
new-password-done-title = Contraseña cambiada
new-password-done-body = Su nueva contraseña quedó guardada. Por su seguridad, cerramos su sesión en todos los dispositivos y le avisamos por correo electrónico y mensaje de texto.
new-password-sign-in = Iniciar sesión

## Restablecer la cuenta (no le queda ningún segundo factor)

account-reset-title = Restablecer sus métodos para iniciar sesión
account-reset-step-confirm = Confirmar la solicitud
account-reset-step-wait = Esperar
account-reset-step-remove = Quitar los métodos anteriores
account-reset-step-set-up = Configurar métodos nuevos
account-reset-confirm-body = Confirme que quiere restablecer los métodos para iniciar sesión de su cuenta porque ya no tiene su teléfono ni otro segundo factor.
account-reset-wait = { $count ->
    [one] Por su seguridad, hay una espera de 1 hora.
   *[other] Por su seguridad, hay una espera de { $count } horas.
    } Ahora avisaremos a todas las direcciones de correo electrónico y teléfonos de su cuenta, y le enviaremos un enlace por correo cuando termine la espera. Si inicia sesión como siempre durante la espera, el restablecimiento se cancela.
account-reset-confirm-submit = Confirmar el restablecimiento de la cuenta
account-reset-requested = El restablecimiento de su cuenta está en espera. El { $when } le enviaremos por correo un enlace que quita sus métodos anteriores para iniciar sesión.
account-reset-told = Avisamos a todas las direcciones de correo electrónico y teléfonos de su cuenta.
account-reset-complete-body = La espera terminó. Esto quita de su cuenta todos los números de teléfono, aplicaciones de autenticación y códigos de respaldo, y cierra su sesión en todos los dispositivos. Después, iniciará sesión con su contraseña y configurará métodos nuevos.
account-reset-complete-submit = Quitar mis métodos para iniciar sesión
account-reset-completed = Se quitaron sus métodos anteriores para iniciar sesión y se cerró la sesión en todos los dispositivos.
account-reset-sign-in = Iniciar sesión y configurar métodos nuevos
account-reset-invalid = Este enlace no es válido: ya se usó, venció o el restablecimiento se canceló porque alguien inició sesión.
account-reset-home = Ir a la página de inicio

## Verificación de identidad, "No fui yo", bandeja de salida de desarrollo

step-up-heading = Confirme su identidad
step-up-body = Este es un cambio delicado, así que necesitamos de nuevo su contraseña y un segundo factor.
step-up-submit = Continuar

not-me-heading = No fui yo
not-me-done = Cerramos la sesión de su cuenta en todos los dispositivos. Quien haya iniciado sesión ya no tiene acceso.
not-me-done-password = Es posible que alguien conozca su contraseña. Le enviamos por correo un enlace para elegir una nueva: ábralo lo antes posible.
not-me-invalid = Este enlace no es válido: ya se usó o venció.
not-me-ask = Si usted no acaba de iniciar sesión, cerraremos de inmediato la sesión de su cuenta en todos los dispositivos y le enviaremos por correo un enlace para elegir una nueva contraseña.
not-me-submit = Cerrar sesión en todos los dispositivos

outbox-title = Bandeja de salida de desarrollo
outbox-note = Solo en modo de desarrollo. Cada correo electrónico, SMS y mensaje de voz que { $site } "envía" llega aquí, del más reciente al más antiguo. En producción, esta página no está disponible.
outbox-empty = Todavía no hay mensajes.
outbox-to = a
step-up-wrong-password = Esa contraseña no es correcta.
