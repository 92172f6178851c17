## Números de teléfono: el formulario del número, cambiar o agregar un número desde la cuenta,
## la pregunta periódica "¿Sigue siendo su número?" y por qué se rechaza un número.

# Por qué no se puede usar un número escrito.
phone-error-invalid = Ese no es un número de teléfono válido. Incluya el código de área.
phone-error-premium-rate = Ese es un número de tarifa especial. Use un número de celular o de línea fija.
phone-error-shared-cost = Ese es un número de costo compartido. Use un número de celular o de línea fija.
phone-error-not-a-phone = Ese número no puede recibir mensajes de texto ni llamadas. Use un número de celular o de línea fija.
phone-already-on-account = Ese número ya está en su cuenta.
phone-too-many-on-account = { $count ->
        [one] Ya tiene 1 número de teléfono, el máximo que permite una cuenta. Cámbielo o elimínelo.
       *[other] Ya tiene { $count } números de teléfono, el máximo que permite una cuenta. Cambie o elimine uno de ellos.
    }
phone-used-by-other-accounts = Ese número ya lo usan varias otras cuentas, así que no podemos agregarlo aquí. Comuníquese con el servicio de ayuda si de verdad es suyo.

# El formulario del número (inscripción y cuenta).
phone-number-label = Número de teléfono
phone-new-number-label = Nuevo número de teléfono
phone-number-hint = Incluya el código de área. Para un número fuera de EE. UU., empiece con + y el código del país.
phone-channel-legend = ¿Cómo le enviamos los códigos?
phone-channel-sms = Mensaje de texto (SMS)
phone-channel-voice = Llamada telefónica
phone-send-code = Enviar código

# Cambiar o agregar un número desde la cuenta: sus pasos y páginas.
phone-step-confirm-you = Confirme su identidad
phone-step-number = Número nuevo
phone-step-code = Ingrese el código
phone-step-review = Revise y confirme
phone-change-title = Cambie su número de teléfono
phone-add-title = Agregue un número de teléfono
phone-change-heading = Cambiar el { $number }
phone-code-heading = Ingrese el código
phone-code-sent-sms = Enviamos un código por mensaje de texto al { $number }.
phone-code-sent-voice = Llamamos al { $number } para darle un código.
phone-continue = Continuar
phone-text-new-code = Enviarme un código nuevo por mensaje de texto
phone-call-instead = Prefiero una llamada
phone-wrong-number = ¿Número equivocado?
phone-change-it = Cámbielo
phone-code-resent = Le enviamos un código nuevo.
phone-review-heading = Revise y confirme
phone-review-intro = Asegúrese de que el número nuevo esté bien: los códigos de seguridad y las alertas llegarán a ese número.
phone-review-old = Número anterior
phone-review-new = Número nuevo
phone-review-channel = Códigos por
phone-channel-sms-short = mensaje de texto
phone-channel-voice-short = llamada telefónica
phone-review-notices-replace = Le avisaremos de este cambio por correo electrónico y por mensaje de texto al número anterior y al nuevo.
phone-review-notices-add = Le avisaremos de este cambio por correo electrónico y por mensaje de texto al número nuevo.
phone-confirm = Confirmar
phone-cancel = Cancelar
phone-updated-title = Número de teléfono actualizado
phone-updated-replaced = El { $old } se reemplazó por el { $new } el { $date }.
phone-updated-added = Se agregó el { $new } el { $date }.
phone-updated-notices-replace = Enviamos un aviso a su correo electrónico, al número anterior y al número nuevo. Guarde esta página como comprobante.
phone-updated-notices-add = Enviamos un aviso a su correo electrónico y al número nuevo. Guarde esta página como comprobante.
phone-removed-title = Número de teléfono eliminado
phone-removed-notice = El { $number } se eliminó el { $date }. Le avisamos por correo electrónico y por mensaje de texto a ese número.
phone-back-to-account = Volver a su cuenta

# Rechazos al cambiar un número.
phone-not-on-account = Ese número de teléfono no está en su cuenta.
phone-no-code-to-resend = No hay ningún código pendiente para volver a enviar.
phone-no-code-waiting = No hay ningún código pendiente para este paso. Vuelva a empezar el cambio desde su cuenta.
phone-not-confirmed-yet = Este cambio todavía no se confirmó con un código. Vuelva a empezar desde su cuenta.

# "¿Sigue siendo su número?" (se pregunta de vez en cuando al iniciar sesión).
phone-review-title = ¿Sigue siendo su número?
phone-review-question = ¿El { $number } sigue siendo su número?
phone-review-why = Enviamos sus códigos de seguridad y alertas a este número. Hace tiempo que no lo confirma.
phone-review-yes = Sí, sigue siendo mío
phone-review-update = Actualizarlo

# Un enlace al centro de ayuda.
phone-help = Ayuda con su número de teléfono
phone-remove-last-method = Este teléfono es su única forma de confirmar que es usted, así que no se puede eliminar. Primero agregue otro método.
