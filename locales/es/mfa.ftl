## Segundos factores: la verificación después de la contraseña, la inscripción del primer
## método, la recomendación de un segundo, los códigos de respaldo y "No tengo mi teléfono".

# Indicador de pasos (USWDS): sus palabras fijas y los pasos de la inscripción.
mfa-step-choose = Elija un método
mfa-step-set-up = Configúrelo
mfa-step-backup = Agregue un método de respaldo

# Palabras que comparten varias de estas páginas.
mfa-continue = Continuar
mfa-confirm = Confirmar
mfa-cancel = Cancelar
mfa-back = Volver
mfa-contact-support = Comuníquese con el servicio de ayuda
mfa-code-label = Código de seguridad
mfa-didnt-get-it = ¿No lo recibió?
mfa-text-new-code = Enviarme un código nuevo por mensaje de texto
mfa-call-instead = Prefiero una llamada
mfa-wrong-number = ¿Número equivocado?
mfa-change-number = Cámbielo
mfa-code-resent = Le enviamos un código nuevo.

# Por qué no se aceptó un código o no se pudo enviar.
mfa-code-wrong = Ese código no funcionó. Revíselo e inténtelo de nuevo.
mfa-code-wrong-tries-left = Ese código no funcionó. { $count ->
        [one] Le queda 1 intento
       *[other] Le quedan { $count } intentos
    } antes de que este paso se bloquee durante { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    }.
mfa-code-expired = Ese código ya venció. Pida uno nuevo.
mfa-code-none-waiting = No hay ningún código pendiente para este paso. Pida uno nuevo.
mfa-code-locked = Demasiados códigos incorrectos. Por su seguridad, este paso está bloqueado durante { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    }. Le enviamos un correo electrónico para avisarle.
mfa-send-too-many = Le enviamos varios códigos en poco tiempo. Espere { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    } antes de pedir otro, o use un código que ya haya recibido.
mfa-send-failed = No pudimos enviar el código en este momento. Pruebe con una llamada o elija otro método.
mfa-send-locked = Demasiados códigos incorrectos. Por su seguridad, este paso está bloqueado durante { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    }.
mfa-code-too-long = Ese código es demasiado largo.
mfa-choose-method = Elija una manera de confirmar su identidad.
mfa-choose-phone = Elija uno de sus números de teléfono.
mfa-phone-cooling-down = Ese número de teléfono se agregó o cambió hace poco, así que todavía no se puede usar para restablecer su contraseña. Elija otra manera de confirmar su identidad.

# La verificación después de la contraseña (y al volver a confirmar su identidad).
mfa-challenge-title = Confirme su identidad
mfa-cooldown-notice = El teléfono { $number } se agregó o cambió hace poco. Por su seguridad, no se puede usar por sí solo para restablecer su contraseña hasta el { $date }.
mfa-no-method = Su cuenta no tiene otra manera de confirmar su identidad. Puede esperar hasta que se pueda usar el teléfono, iniciar sesión con su contraseña y elegir "No tengo mi teléfono", o comunicarse con el servicio de ayuda.
mfa-code-sent = Enviamos un código al { $number }. Vence en { $minutes ->
        [one] 1 minuto
       *[other] { $minutes } minutos
    }.
mfa-remember = Recordar este navegador durante { $count ->
        [one] 1 día
       *[other] { $count } días
    }
mfa-text-code-to = Enviar un código por mensaje de texto a { $number }
mfa-no-phone-link = No tengo mi teléfono
mfa-totp-instructions = Ingrese el código de 6 dígitos de su aplicación de autenticación.
mfa-totp-code-label = Código de su aplicación
mfa-backup-instructions = Ingrese uno de sus códigos de respaldo. Cada código funciona una sola vez.
mfa-backup-code-label = Código de respaldo
mfa-other-methods = Elija otro método
mfa-other-phone = Mensaje de texto o llamada a { $number }
mfa-other-totp = Usar su aplicación de autenticación
mfa-other-backup = Usar un código de respaldo ({ $count ->
        [one] le queda 1
       *[other] le quedan { $count }
    })

# Inscripción: elegir el primer método.
mfa-setup-title = Agregue una segunda manera de iniciar sesión
mfa-setup-intro = Su contraseña por sí sola no basta para proteger su cuenta. Elija cómo confirmará su identidad cada vez que inicie sesión. Puede agregar más métodos después.
mfa-setup-phone = Mensaje de texto o llamada telefónica
mfa-setup-phone-hint = Le enviamos un código de 6 dígitos a su teléfono.
mfa-setup-totp = Aplicación de autenticación
mfa-setup-totp-hint = Una aplicación en su teléfono muestra un código nuevo cada 30 segundos. Funciona sin señal.
mfa-setup-backup = Códigos de respaldo
mfa-setup-backup-hint = Diez códigos para imprimir o guardar. Cada uno funciona una sola vez.

# Inscripción: un número de teléfono (las palabras del formulario están en phone.ftl).
mfa-phone-title = Agregue un número de teléfono
mfa-phone-code-sent-sms = Enviamos un código de seguridad por mensaje de texto al { $number }. Ingréselo para confirmar que el número es suyo.
mfa-phone-code-sent-voice = Llamamos al { $number } para darle un código de seguridad. Ingréselo para confirmar que el número es suyo.

# Inscripción o cuenta: una aplicación de autenticación.
mfa-totp-title = Agregue una aplicación de autenticación
mfa-totp-step-open = Abra su aplicación de autenticación y agregue una cuenta nueva.
mfa-totp-step-scan = Escanee este código QR o escriba la clave que aparece abajo.
mfa-totp-qr-alt = Código QR para su aplicación de autenticación
mfa-totp-key = Clave:
mfa-totp-step-enter = Ingrese el código de 6 dígitos que muestra la aplicación.
mfa-totp-too-many = { $count ->
        [one] Ya tiene 1 aplicación de autenticación, el máximo que permite una cuenta.
       *[other] Ya tiene { $count } aplicaciones de autenticación, el máximo que permite una cuenta.
    }

# Códigos de respaldo.
mfa-backup-codes-title = Sus códigos de respaldo
mfa-backup-codes-new-title = Sus nuevos códigos de respaldo
mfa-backup-codes-save-now = Guarde estos códigos ahora: es la única vez que se los mostramos. Cada código funciona una sola vez. Los códigos de respaldo anteriores ya no funcionan.
mfa-backup-codes-download = Descargar como archivo de texto
mfa-backup-codes-print = Para imprimirlos, use el comando Imprimir de su navegador.
mfa-backup-codes-saved = Ya guardé mis códigos
mfa-backup-codes-file-heading = Códigos de respaldo de { $site } para { $email }
mfa-backup-codes-file-note = Cada código funciona una sola vez. Guárdelos en un lugar seguro.

# Justo después del primer método: se recomienda un segundo.
mfa-another-title = Agregue un método de respaldo
mfa-another-intro-phone = Su teléfono ya está configurado. Si lo pierde o cambia de número, un segundo método le permitirá entrar a su cuenta de todos modos.
mfa-another-intro-totp = Su aplicación de autenticación ya está configurada. Si pierde su teléfono o la aplicación, un segundo método le permitirá entrar a su cuenta de todos modos.
mfa-another-cooldown = Un número de teléfono que se acaba de agregar o cambiar no puede restablecer su contraseña por sí solo durante { $count ->
        [one] 1 hora
       *[other] { $count } horas
    }. Con un segundo método, nunca se quedará sin acceso.
mfa-another-totp = Agregar una aplicación de autenticación
mfa-another-totp-hint = Una aplicación en su teléfono muestra un código nuevo cada 30 segundos. Funciona sin señal.
mfa-another-backup = Crear códigos de respaldo
mfa-another-backup-hint = Diez códigos para imprimir o guardar. Cada uno funciona una sola vez.
mfa-another-skip = Omitir por ahora
mfa-another-later = Puede agregar uno más tarde desde su cuenta.

# "No tengo mi teléfono".
mfa-lost-phone-title = ¿No tiene su teléfono?
mfa-lost-phone-other-ways = Puede confirmar su identidad de otra manera. Cuando inicie sesión, lo llevaremos directamente a reemplazar su número de teléfono.
mfa-lost-phone-none-of-these = ¿No tiene ninguno de estos?
mfa-lost-phone-pending = Ya hay un restablecimiento de la cuenta en espera. El { $date } le enviaremos por correo electrónico un enlace que elimina sus métodos de inicio de sesión anteriores para que pueda configurar otros nuevos.
mfa-lost-phone-reset-explain = Puede restablecer los métodos de inicio de sesión de su cuenta. Por su seguridad, esto tarda { $count ->
        [one] 1 hora
       *[other] { $count } horas
    }: primero le enviamos un enlace por correo electrónico para confirmarlo, luego avisamos a todas las direcciones de correo electrónico y teléfonos de su cuenta y, cuando termine la espera, le enviamos un enlace que elimina sus números de teléfono, aplicaciones de autenticación y códigos de respaldo. Después inicia sesión con su contraseña y configura métodos nuevos.
mfa-lost-phone-reset-cancelled-if = Si alguien inicia sesión en su cuenta de la manera habitual durante la espera, el restablecimiento se cancela.
mfa-lost-phone-reset-button = Restablecer mis métodos de inicio de sesión
mfa-lost-phone-no-reset = Para restablecer su contraseña necesita un segundo factor que no sea un teléfono cambiado recientemente. Si no tiene ninguno, inicie sesión con su contraseña y elija "No tengo mi teléfono", o comuníquese con el servicio de ayuda.
mfa-lost-phone-reset-sent = Enviamos un enlace a { $email }. Ábralo para confirmar el restablecimiento de la cuenta.
mfa-lost-phone-reset-pending = Ya hay un restablecimiento de la cuenta en espera. Le enviaremos un enlace por correo electrónico el { $date }.
mfa-lost-phone-reset-too-many = Demasiadas solicitudes en la última hora. Vuelva a intentarlo más tarde.
mfa-lost-phone-password-first = Primero inicie sesión con su contraseña y luego pida el restablecimiento de la cuenta.
mfa-help = Ayuda para iniciar sesión sin su teléfono
