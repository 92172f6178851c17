## Verificación de identidad (/verify)

verify-start-title = Verifique su identidad
verify-start-heading = Verifique su identidad
verify-start-intro = Algunos servicios, como los de impuestos o beneficios, necesitan saber quién es usted. Comprobamos su identificación, una selfie, su número de Seguro Social y su teléfono, y luego informamos a los servicios que usted elija que su identidad está verificada.
verify-start-need-heading = Lo que necesitará
verify-start-need-document = Una licencia de conducir, una tarjeta de identificación estatal o un pasaporte de EE. UU. vigente
verify-start-need-phone = Un número de teléfono a su nombre
verify-start-need-ssn = Su número de Seguro Social
verify-start-time = Suele tardar unos 15 minutos. Puede parar y volver: guardamos su avance durante 30 días.
verify-start-use-heading = Cómo usamos su información
verify-start-use = Enviamos sus datos a empresas que comprueban documentos de identidad, registros y números de teléfono en nuestro nombre, solo para verificarle. Su nombre, fecha de nacimiento y dirección verificados solo se comparten con los servicios que usted autorice; su número de Seguro Social, solo con los servicios autorizados a pedirlo y solo si usted está de acuerdo.
verify-start-keep = Borramos las fotos de su identificación y su selfie una vez comprobadas. Puede eliminar su información verificada de su cuenta en cualquier momento.
verify-consent-label = Acepto que se compruebe mi información como se describe arriba.
verify-consent-required = Marque la casilla para aceptar antes de continuar.
verify-start-button = Aceptar y continuar
verify-help = Ayuda para verificar su identidad
verify-continue = Continuar
verify-start-over = Empezar de nuevo
verify-contact-support = Comunicarse con asistencia

verify-step-document = Documento
verify-step-selfie = Selfie
verify-step-ssn = Número de Seguro Social
verify-step-review = Revisión
verify-step-phone = Teléfono

verify-document-title = Agregue fotos de su identificación
verify-document-heading = Agregue fotos de su identificación
verify-document-intro = Tome las fotos sobre una superficie oscura y plana, con buena luz, con las cuatro esquinas del documento dentro de la imagen.
verify-document-type-legend = ¿Qué documento tiene?
verify-doc-drivers-license = Licencia de conducir
verify-doc-state-id = Tarjeta de identificación estatal
verify-doc-passport = Pasaporte de EE. UU.
verify-front-label = Frente de su licencia o identificación, o la página con foto de su pasaporte
verify-front-hint = Una foto JPEG o PNG.
verify-back-label = Reverso de su licencia o identificación (no hace falta para un pasaporte)
verify-back-hint = Asegúrese de que el código de barras se vea nítido y completo.
verify-fixtures-hint = Modo de prueba: en lugar de una foto, puede subir un pequeño archivo JSON o YAML que describa el documento (vea el README).
verify-document-type-missing = Elija qué documento tiene.
verify-front-missing = Agregue una foto del frente de su identificación o de la página con foto de su pasaporte.
verify-back-missing = Agregue una foto del reverso de su licencia o identificación: leemos su código de barras.
verify-barcode-unreadable = No pudimos leer el código de barras del reverso. Tome la foto de nuevo con buena luz, sin mover la cámara y con todo el código de barras en la imagen.
verify-barcode-invalid = El código de barras del reverso no contiene los datos de una licencia o identificación de EE. UU. Compruebe que fotografió el reverso de la tarjeta correcta.
verify-mrz-invalid = No pudimos leer las dos líneas de letras y números al pie de la página con foto de su pasaporte. Tome la foto de nuevo con toda la página en la imagen.
verify-document-mismatch = El frente y el reverso de su identificación no coinciden. Tome de nuevo las dos fotos de la misma tarjeta.
verify-document-expired = Este documento está vencido. Use una licencia de conducir, identificación estatal o pasaporte vigente.
verify-document-not-authentic = No pudimos confirmar que este documento sea auténtico. Tome las fotos de nuevo, sin reflejos ni fundas, o use otro documento.
verify-document-wrong-type = Este no es el tipo de documento que eligió. Revise el tipo de documento e inténtelo de nuevo.
verify-image-too-large = Ese archivo es demasiado grande. Use una foto de menos de 10 MB.
verify-image-too-many-pixels = Esa foto es demasiado grande. Use una foto tomada directamente con la cámara de su teléfono.
verify-image-too-small = Esa foto es demasiado pequeña para leerla. Tómela más de cerca, con el documento ocupando casi toda la imagen.
verify-image-not-photo = Ese archivo no es una foto. Use una imagen JPEG o PNG.
verify-image-unreadable = No pudimos abrir esa foto. Tómela de nuevo.

verify-selfie-title = Tómese una selfie
verify-selfie-heading = Tómese una selfie
verify-selfie-intro = Comparamos su cara con la foto de su identificación. Quítese lentes y sombreros, y mire a la cámara con buena luz.
verify-selfie-label = Su selfie
verify-selfie-hint = Una foto JPEG o PNG de su cara.
verify-selfie-missing = Agregue una selfie para continuar.
verify-selfie-no-match = Su selfie no parece coincidir con la foto de su identificación. Tómela de nuevo, mirando a la cámara con buena luz.
verify-selfie-not-live = No pudimos confirmar que la selfie se tomó en este momento. Tome una foto nueva de su cara, no de una imagen ni de una pantalla.

verify-ssn-title = Ingrese su número de Seguro Social
verify-ssn-heading = Ingrese su número de Seguro Social
verify-ssn-intro = Lo comprobamos con registros confiables junto con los datos de su identificación. Se guarda cifrado y solo se muestra parcialmente oculto.
verify-ssn-label = Número de Seguro Social
verify-ssn-hint = 9 dígitos, por ejemplo 123-45-6789.
verify-ssn-format = Ingrese su número de Seguro Social de 9 dígitos.
verify-ssn-impossible = Ese no es un número de Seguro Social válido. Revíselo en su tarjeta e inténtelo de nuevo.

verify-review-title = Revise su información
verify-review-heading = Revise su información
verify-review-intro = Esto es lo que leímos de su identificación. Si ahora vive en otra dirección, cámbiela abajo antes de continuar.
verify-review-name = Nombre
verify-review-birthdate = Fecha de nacimiento
verify-review-address = Dirección
verify-review-ssn = Número de Seguro Social
verify-review-document = Documento
verify-address-different = Vivo en otra dirección
verify-address-street1 = Dirección
verify-address-street2 = Apartamento, suite, unidad (opcional)
verify-address-city = Ciudad
verify-address-state = Estado (2 letras)
verify-address-zip = Código postal
verify-address-save = Guardar esta dirección
verify-address-problems = Revise los campos de la dirección marcados abajo.
verify-address-needed = Ingrese la dirección donde vive y luego seleccione Verificar.
verify-review-button = Verificar
verify-records-failed = No pudimos confirmar su identidad con registros confiables. Compruebe que su nombre, fecha de nacimiento, dirección y número de Seguro Social sean correctos e inténtelo de nuevo.
verify-state-id-failed = El estado que emitió su identificación no pudo confirmar sus datos. Compruebe que su identificación esté vigente o use otro documento.

verify-phone-title = Confirme su teléfono
verify-phone-heading = Confirme su teléfono
verify-phone-intro = Comprobamos que este número de teléfono esté a su nombre y luego le enviamos un código.
verify-phone-legend = ¿Qué número?
verify-phone-other = Otro número
verify-phone-number-label = Número de teléfono (si es otro número)
verify-phone-unknown = Elija uno de sus números de teléfono o ingrese otro.
verify-phone-not-associated = No pudimos confirmar que este número de teléfono esté a su nombre. Pruebe con otro número a su nombre.
verify-phone-cooldown = Este número se agregó a su cuenta hace poco. Por su seguridad, no puede confirmar su identidad hasta el { $when }. Use otro número o vuelva entonces.
verify-code-title = Ingrese su código
verify-code-heading = Ingrese el código que le enviamos
verify-code-sent = Enviamos un código al { $number }.
verify-finish = Terminar
verify-phone-use-other = Usar otro número
verify-letter-offer-heading = ¿No tiene un teléfono a su nombre?
verify-letter-offer = Podemos enviarle por correo postal una carta con un código de un solo uso a la dirección que confirmó. Tarda unos días en llegar.
verify-letter-request = Envíenme una carta
verify-letter-title = Verificar por correo postal
verify-letter-heading = Ingrese el código de su carta
verify-letter-intro = Le enviaremos por correo postal una carta con un código de un solo uso a la dirección que confirmó. Cuando llegue, ingrese el código aquí para terminar.
verify-letter-requested-on = Carta solicitada el { $when }.
verify-letter-sent-on = Carta enviada el { $when }.
verify-letter-code-label = Código de la carta
verify-letter-code-hint = Las letras y los números impresos en la carta. Los espacios y guiones no importan.
verify-letter-didnt-get-it = ¿No la recibió?
verify-letter-another = Enviar otra carta
verify-letter-another-later = Puede pedir otra carta después del { $when }.
verify-letter-too-many = Ya pidió todas las cartas que podemos enviar por ahora. Puede pedir otra después del { $when }.
verify-letter-code-format = Ingrese el código tal como aparece impreso en la carta.
verify-letter-code-wrong = Ese código no coincide con su carta. { $tries ->
    [one] Le queda 1 intento más.
   *[other] Le quedan { $tries } intentos más.
}
verify-letter-code-void = Ya no se puede usar ningún código que le enviamos: venció o hubo demasiados intentos incorrectos. Pida una carta nueva.
verify-letter-phone-instead = Verificar con un teléfono

verify-done-title = Su identidad está verificada
verify-done-heading = Su identidad está verificada
verify-verified-title = Su identidad está verificada
verify-verified-heading = Su identidad ya está verificada
verify-verified-on = Verificada el { $when }.
verify-done-next = Los servicios que usted elija ahora pueden recibir su información verificada, cada vez que usted lo autorice. Puede eliminarla de su cuenta en cualquier momento.
verify-continue-to-app = Continuar al servicio
verify-back-to-account = Volver a su cuenta

verify-held-title = Estamos revisando su verificación
verify-held-heading = Estamos revisando su verificación
verify-held-body = Sus comprobaciones fueron correctas, pero parte de su información ya está verificada en otra cuenta, así que una persona debe revisarla. Le enviaremos un correo cuando termine. Si usted no intentó verificarse en otra cuenta, comuníquese con asistencia.

verify-out-of-attempts-title = Demasiados intentos
verify-out-of-attempts-heading = Hizo demasiados intentos hoy
verify-out-of-attempts-body = Por su seguridad, puede volver a intentar este paso después del { $when }.
verify-agent-coming = Pronto también podrá verificarse con una videollamada con un agente o por correo postal. Mientras tanto, nuestras páginas de ayuda o el servicio de asistencia pueden ayudarle.
verify-try-later-title = Inténtelo más tarde
verify-try-later-heading = No podemos comprobarlo en este momento
verify-try-later-body = Un servicio que usamos para comprobar identidades no responde. No se perdió nada y esto no contó como un intento. Inténtelo de nuevo en unos minutos.
verify-try-again = Intentar de nuevo
# La carta impresa (verificación por correo), una página por carta en el idioma de la persona.
letter-pdf-heading = Su código de verificación de { $site }
letter-pdf-intro = Usted pidió a { $site } confirmar su identidad por correo. Esta carta llegó a la dirección que usted confirmó. Para terminar, inicie sesión en { $site } e ingrese el código de abajo.
letter-pdf-until = El código es válido hasta el { $until }. Después, puede pedir una carta nueva.
letter-pdf-where = Inicie sesión e ingrese el código en:
letter-pdf-not-you = Si usted no pidió esta carta a { $site }, es posible que alguien esté intentando usar su identidad. No comparta el código; comuníquese con nosotros en { $help }.
